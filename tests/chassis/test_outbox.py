"""Events leave through the outbox as CloudEvents, are consumed once, and survive crashes."""
import json
import time

import pytest
import sqlalchemy as sa
from guichet_probe import PROBE
from guichet_probe.contracts import NOTE_CREATED_TYPE as NOTE_CREATED

from guichet_common import context
from guichet_common.rpc_client import RemoteError
from guichet_common.testing import publish, wait_for
from guichet_contracts.envelope import make_envelope

pytestmark = pytest.mark.interface


def unpublished(url):
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
    engine.dispose()
    return count


def test_state_change_and_event_commit_together_and_the_event_is_a_cloudevent(probe, probe_db, rpc, amqp_spy):
    spy = amqp_spy("probe.events", NOTE_CREATED)
    with context.bound("corr-outbox-1"):
        note_id = rpc.call("probe", "create_note", "bonjour")
    [(properties, envelope)] = spy.collect(1)
    assert envelope["type"] == NOTE_CREATED
    assert envelope["specversion"] == "1.0"
    assert envelope["source"] == "/guichet/probe"
    assert envelope["subject"] == f"note/{note_id}"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["data"] == {"note_id": note_id, "text": "bonjour"}
    assert envelope["correlationid"] == "corr-outbox-1"
    assert envelope["time"].endswith("Z")
    assert properties.message_id == envelope["id"]
    assert properties.content_type == "application/cloudevents+json"
    assert properties.delivery_mode == 2
    wait_for(lambda: unpublished(probe_db) == 0, message="outbox row marked published")


def test_relay_down_between_commit_and_publish_loses_nothing(processes, probe_db, rpc, amqp_spy):
    # The service commits but its relay is not running: the event waits in the outbox.
    processes.service(PROBE, "probe", probe_db, extra_args=["--no-relay"])
    spy = amqp_spy("probe.events", NOTE_CREATED)
    note_ids = [rpc.call("probe", "create_note", f"note {i}") for i in range(3)]
    assert spy.collect(1, timeout=1.0) == []
    assert rpc.call("probe", "health")["outbox_backlog"] == 3
    # A standalone relay publishes all three, in order, and is killed as soon as they arrive.
    relay = processes.guichet("relay", PROBE, name="relay", GUICHET_PROBE_DATABASE_URL=probe_db)
    received = spy.collect(3, timeout=30)
    relay.kill()
    assert [envelope["data"]["note_id"] for _, envelope in received] == note_ids
    # Killed between a publish and marking its row sent, a relay leaves the row to the next one: a
    # subscriber may get an event twice (the inbox makes that harmless) but never misses one.
    processes.guichet("relay", PROBE, name="relay-again", GUICHET_PROBE_DATABASE_URL=probe_db)
    wait_for(lambda: unpublished(probe_db) == 0, timeout=30, message="outbox drained")
    first_ids = {envelope["id"] for _, envelope in received}
    assert {envelope["id"] for _, envelope in spy.collect(3, timeout=1.0)} <= first_ids


def test_a_message_delivered_twice_has_one_effect(probe, listener, rpc, amqp_uri):
    envelope = make_envelope(type=NOTE_CREATED, source="probe", data={"note_id": 41, "text": "en double"})
    publish(amqp_uri, "probe.events", NOTE_CREATED, envelope)
    publish(amqp_uri, "probe.events", NOTE_CREATED, envelope)
    rows = wait_for(lambda: rpc.call("probelistener", "received_notes"), message="note received")
    # Give the duplicate every chance to be (wrongly) applied.
    time.sleep(1.0)
    rows = rpc.call("probelistener", "received_notes")
    assert [row["note_id"] for row in rows] == [41]


def test_an_event_from_the_real_outbox_reaches_the_listener(probe, listener, rpc):
    note_id = rpc.call("probe", "create_note", "salut")
    rows = wait_for(lambda: rpc.call("probelistener", "received_notes"), message="note received")
    assert rows[0]["note_id"] == note_id and rows[0]["text"] == "salut"


def test_payload_rejected_by_its_contract_is_never_recorded(probe, probe_db, rpc):
    # The notes table takes 150 characters; the event contract allows 100: the
    # whole unit of work is refused, so no note exists without its event.
    with pytest.raises(RemoteError) as caught:
        rpc.call("probe", "create_note", "x" * 150)
    assert caught.value.exc_type == "InvalidPayload"
    engine = sa.create_engine(probe_db)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == 0
    engine.dispose()


def test_an_external_pika_subscriber_receives_a_services_events(processes, probe, rpc, tmp_path):
    """The documented example (plain pika, no Guichet code) binds its own durable queue."""
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "contracts" / "examples" / "subscriber.py"
    args = [sys.executable, str(example), "--exchange", "probe.events", "--binding-key", "fr.guichet.probe.#",
            "--queue", "city-archive.probe"]
    env = {"AMQP_URI": processes.amqp_uri, "PATH": "/usr/bin:/bin"}
    # First run declares the durable queue; events published while it is away wait there.
    subprocess.run([*args, "--timeout", "0.5"], env=env, capture_output=True, timeout=30, check=True)
    note_id = rpc.call("probe", "create_note", "pour les archives")
    done = subprocess.run([*args, "--max-messages", "1", "--timeout", "15"], env=env, capture_output=True,
                          text=True, timeout=30, check=True)
    [line] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert line["type"] == NOTE_CREATED
    assert line["subject"] == f"note/{note_id}"


def test_every_message_the_producer_writes_matches_its_generated_json_schema(probe, probe_db, rpc):
    """What the relay publishes is what the generated contract documents promise."""
    from jsonschema import Draft202012Validator

    from guichet_contracts.generate import message_schema
    from guichet_contracts.registry import get

    rpc.call("probe", "create_note", "conforme")
    engine = sa.create_engine(probe_db)
    with engine.connect() as connection:
        [body] = connection.execute(sa.text("SELECT body FROM outbox")).scalars()
    engine.dispose()
    envelope = json.loads(body)
    Draft202012Validator(message_schema(get(envelope["type"]))).validate(envelope)


def test_writes_keep_flowing_while_the_relay_publishes(probe, rpc, amqp_spy):
    """Concurrent writers and the embedded relay share one database without stalling.

    On SQLite the relay used to hold the file's write lock while waiting for
    publisher confirms; a writer then waited in SQLite's busy handler, which
    blocks the eventlet hub, so nobody progressed until the busy timeout.
    """
    import threading

    spy = amqp_spy("probe.events", NOTE_CREATED)
    errors = []

    def write(n):
        try:
            for i in range(15):
                rpc.call("probe", "create_note", f"{n}-{i}", timeout=10)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert time.monotonic() - started < 15
    assert len(spy.collect(90, timeout=20)) == 90
