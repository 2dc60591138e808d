"""What operators rely on: several relays at once, metrics, correlation ids in logs."""
import json
import socket
import time
import urllib.request
import uuid

import pytest
import sqlalchemy as sa
from guichet_probe import PROBE
from guichet_probe.contracts import NOTE_CREATED_TYPE as NOTE_CREATED

from guichet_common import context
from guichet_common.db import utcnow
from guichet_common.testing import wait_for

pytestmark = pytest.mark.interface


def test_three_relays_on_one_outbox_publish_each_message_once(processes, probe_db, amqp_spy):
    spy = amqp_spy("probe.events", NOTE_CREATED)
    engine = sa.create_engine(probe_db)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO outbox (message_id, exchange, routing_key, body, created_at, attempts) "
            "VALUES (:id, 'probe.events', :rk, :body, :now, 0)"), [
            {"id": str(i), "rk": NOTE_CREATED, "now": utcnow(),
             "body": json.dumps({"specversion": "1.0", "id": str(i), "source": "/guichet/probe", "type": NOTE_CREATED,
                                 "time": "2026-11-25T00:00:00Z", "datacontenttype": "application/json",
                                 "data": {"note_id": i, "text": "n"}})}
            for i in range(600)])
    for n in range(3):
        processes.guichet("relay", PROBE, name=f"relay{n}", GUICHET_PROBE_DATABASE_URL=probe_db)
    received = spy.collect(600, timeout=60)
    time.sleep(1.0)
    received += spy.collect(1, timeout=0.5)  # anything published twice would show up now
    ids = [envelope["id"] for _, envelope in received]
    assert len(ids) == 600 and len(set(ids)) == 600
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one() == 0
    engine.dispose()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics_expose_rpc_latency_handler_outcomes_backlog_and_dlq_depth(processes, probe_db, listener_db, rpc):
    port = _free_port()
    processes.service(PROBE, "probe", probe_db, extra_args=["--no-relay", "--metrics-port", str(port)])
    rpc.call("probe", "create_note", "mesurée")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'guichet_rpc_seconds_count{method="create_note",outcome="ok",service="probe"} 1.0' in text
    assert 'guichet_outbox_backlog{service="probe"} 1.0' in text
    assert 'guichet_dlq_depth{queue="guichet.probe.dlq"} 0.0' in text
    # The same port answers the orchestrator's probe with this process's own health.
    health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
    assert health["status"] == "ok" and health["outbox_backlog"] == 1


def test_the_correlation_id_follows_a_request_into_the_events_it_causes(probe, listener, rpc):
    correlation = f"req-{uuid.uuid4().hex[:8]}"
    with context.bound(correlation):
        rpc.call("probe", "create_note", "suivie")
    wait_for(lambda: rpc.call("probelistener", "received_notes"), message="note received")

    def handled_lines():
        return [json.loads(line) for line in listener.log().splitlines()
                if line.startswith("{") and '"worker done"' in line and '"kind": "message"' in line]

    [line] = wait_for(handled_lines, message="listener log line")
    assert line["correlation_id"] == correlation
    assert line["entrypoint"] == "on_note_created"
    probe_lines = [json.loads(l) for l in probe.log().splitlines() if '"create_note"' in l]
    assert probe_lines and probe_lines[0]["correlation_id"] == correlation
