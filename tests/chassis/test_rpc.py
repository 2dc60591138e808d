"""RPC through the real broker: answers, problems, leaks, timeouts, context propagation."""
import time

import pytest

from guichet_common import context
from guichet_common.auth import Caller
from guichet_common.errors import InternalError, ServiceTimeout, ServiceUnavailable
from guichet_common.rpc_client import RemoteError, RemoteProblem

pytestmark = pytest.mark.interface


def test_health_reports_database_and_outbox(probe, rpc):
    report = rpc.call("probe", "health")
    assert report["status"] == "ok"
    assert report["database"]["reachable"] is True
    assert report["outbox_backlog"] == 0


def test_a_refusal_reaches_the_caller_as_a_french_problem(probe, rpc):
    with pytest.raises(RemoteProblem) as caught:
        rpc.call("probe", "refuse")
    problem = caught.value.problem()
    assert problem["type"] == "urn:guichet:problem:validation"
    assert problem["status"] == 422
    assert problem["errors"] == {"nom": ["Champ obligatoire."]}
    assert "invalides" in problem["detail"]


def test_an_unexpected_error_does_not_leak_its_text(probe, rpc):
    with pytest.raises(RemoteError) as caught:
        rpc.call("probe", "fail")
    assert "jean.dupont" not in str(caught.value)
    assert caught.value.exc_type == "RuntimeError"
    assert "jean.dupont@example.org" not in probe.log()


def test_unknown_method_is_an_internal_error(probe, rpc):
    with pytest.raises(InternalError):
        rpc.call("probe", "no_such_method")


def test_a_call_with_the_wrong_arguments_is_an_internal_error_and_runs_nothing(probe, rpc):
    with pytest.raises(InternalError):
        rpc.call("probe", "sleep", 0, 1)  # one argument too many
    with pytest.raises(InternalError):
        rpc.call("probe", "refuse", kwargs={"nom": "x"})  # an argument it does not take
    assert rpc.call("probe", "sleep", 0) == 0  # the right call still works


def test_a_service_that_never_ran_is_unavailable_at_once(rpc):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        rpc.call("nosuchservice", "health", timeout=3)
    assert time.monotonic() - started < 1.0


def test_a_stopped_service_is_unavailable_within_the_timeout(probe, rpc):
    probe.stop()
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        rpc.call("probe", "health", timeout=1.5)
    assert time.monotonic() - started < 2.5


def test_a_slow_service_times_out_in_time_and_the_expired_request_is_dropped(probe, rpc):
    started = time.monotonic()
    with pytest.raises(ServiceTimeout):
        rpc.call("probe", "sleep", 3, timeout=1.0)
    assert time.monotonic() - started < 1.8
    # The client keeps working for the next call on the same thread.
    assert rpc.call("probe", "sleep", 0) == 0


def test_correlation_id_and_caller_reach_the_service(probe, rpc):
    with context.bound("req-1234"):
        answer = rpc.call("probe", "whoami", caller=Caller(kind="agent", subject="agent-7", roles=("voirie",)))
    assert answer == {"correlation_id": "req-1234", "kind": "agent", "subject": "agent-7", "roles": ["voirie"]}
