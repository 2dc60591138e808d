"""The reliability promises, proved by breaking things: poison messages, undecodable
messages, slow database calls (a broker restart: test_broker_restart.py, on a node of its own)."""
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from guichet_probe.contracts import NOTE_CREATED_TYPE as NOTE_CREATED

from guichet_common import dlq
from guichet_common.testing import backend, publish, wait_for

pytestmark = [pytest.mark.interface, pytest.mark.fault]


def guichet_cli(amqp_uri, *args):
    return subprocess.run([sys.executable, "-m", "guichet_common.cli", *args], capture_output=True, text=True,
                          timeout=60, env={"GUICHET_AMQP_URI": amqp_uri, "PATH": "/usr/bin:/bin"})


def test_poison_message_reaches_the_dlq_after_retries_and_replays(probe, listener, listener_db, rpc, amqp_uri):
    note_id = rpc.call("probe", "create_note", "poison pill")
    letters = wait_for(lambda: dlq.list_dead_letters(amqp_uri, "probelistener"), timeout=20,
                       message="dead letter")
    [letter] = letters
    assert letter["type"] == NOTE_CREATED
    assert letter["attempts"] == 3  # GUICHET_HANDLER_MAX_ATTEMPTS of the listener fixture
    assert letter["queue"] == "guichet.probelistener.on_note_created"
    assert "cannot digest" in letter["error"]
    assert rpc.call("probelistener", "received_notes") == []

    listed = guichet_cli(amqp_uri, "dlq", "list", "--service", "probelistener")
    assert letter["message_id"] in listed.stdout, listed.stderr

    # The operator fixes the cause, then replays: the note is processed once.
    engine = sa.create_engine(listener_db)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO antidotes (text) VALUES ('poison pill')"))
    engine.dispose()
    replayed = guichet_cli(amqp_uri, "dlq", "replay", "--service", "probelistener")
    assert "replayed 1" in replayed.stdout, replayed.stderr
    rows = wait_for(lambda: rpc.call("probelistener", "received_notes"), message="replayed note handled")
    assert [row["note_id"] for row in rows] == [note_id]
    assert dlq.depths(amqp_uri, ["probelistener"]) == {"guichet.probelistener.dlq": 0}


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/cloudevents+json"),
    (b'{"hello": "world"}', "application/cloudevents+json"),
    (b"plain text", "text/plain"),
])
def test_an_unreadable_message_is_dead_lettered_at_once_not_dropped(listener, amqp_uri, body, content_type):
    publish(amqp_uri, "probe.events", NOTE_CREATED, body, content_type=content_type, message_id="bad-1")
    [letter] = wait_for(lambda: dlq.list_dead_letters(amqp_uri, "probelistener"), message="dead letter")
    assert letter["message_id"] == "bad-1"
    assert letter["attempts"] == 1
    assert "PermanentMessageError" in letter["error"]
    assert listener.running


@pytest.mark.postgresql_only
@pytest.mark.skipif(backend() != "postgresql", reason="pg_sleep and a real connection pool need PostgreSQL")
def test_slow_database_calls_do_not_stall_the_service(probe, rpc):
    """Eight RPCs that each hold a database connection for 1 s finish in about 1 s, not 8."""
    results, errors = [], []

    def call():
        try:
            results.append(rpc.call("probe", "slow_query", 1.0, timeout=10))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert not errors and len(results) == 8
    assert elapsed < 3.0, f"8 concurrent 1 s queries took {elapsed:.1f} s: the eventlet hub is blocked"
