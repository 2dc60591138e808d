"""The billing service process on the real broker, with its migrated database."""
import pytest

from guichet_common.testing import migrated_service

pytestmark = pytest.mark.interface


def test_health_reports_a_migrated_database(processes, databases, rpc):
    migrated_service(processes, databases, "billing")
    report = rpc.call("billing", "health")
    assert report["status"] == "ok"
    assert report["database"]["up_to_date"] is True
    assert report["outbox_backlog"] == 0
