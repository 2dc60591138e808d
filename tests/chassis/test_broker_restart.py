"""A broker restart with calls in flight: every service process lives through it, reconnects by itself,
loses nothing it accepted and applies nothing twice.

The drill runs on a RabbitMQ node of its own (``private_broker``): the shared node on 5672 keeps serving
the other tests while this one is stopped and started again.
"""
import threading
import time

import pytest
import sqlalchemy as sa
from guichet_probe import LISTENER, PROBE
from guichet_probe.service import listener_metadata, notes, probe_metadata, received

from guichet_common import dlq
from guichet_common.errors import GuichetError
from guichet_common.rpc_client import RpcClient
from guichet_common.testing import Processes, wait_for

pytestmark = [pytest.mark.interface, pytest.mark.fault]

OUTAGE_SECONDS = 4


def _count(url, query):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(query).all()
    finally:
        engine.dispose()


class Load:
    """Callers that keep RPCs in flight: notes written (each publishes an event) and slow calls whose reply
    is due while the broker is down."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self.stopping = threading.Event()
        self.accepted: list[int] = []
        self.failures = 0
        self.threads = [threading.Thread(target=self._notes, args=(n,)) for n in range(2)]
        self.threads += [threading.Thread(target=self._slow_calls) for _ in range(2)]
        self.threads.append(threading.Thread(target=self._poison))

    def _notes(self, index: int) -> None:
        client = RpcClient(self.amqp_uri, timeout=2.0, name="drill-notes")
        sequence = 0
        while not self.stopping.is_set():
            sequence += 1
            try:
                self.accepted.append(client.call("probe", "create_note", f"drill {index}-{sequence}"))
            except GuichetError:
                self.failures += 1
                time.sleep(0.2)
            time.sleep(0.02)
        client.close()

    def _slow_calls(self) -> None:
        client = RpcClient(self.amqp_uri, timeout=3.0, name="drill-slow")
        while not self.stopping.is_set():
            try:
                client.call("probe", "sleep", 1.0)
            except GuichetError:
                self.failures += 1
                time.sleep(0.2)
        client.close()

    def _poison(self) -> None:
        """Notes the listener cannot digest: their events go through the retry queues to the dead letters,
        some of them while the broker goes away."""
        client = RpcClient(self.amqp_uri, timeout=2.0, name="drill-poison")
        while not self.stopping.is_set():
            try:
                client.call("probe", "create_note", "poison drill")
            except GuichetError:
                pass
            time.sleep(0.3)
        client.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)


@pytest.fixture
def drill(private_broker, databases, tmp_path, request):
    probe_db, listener_db = databases.new("probe"), databases.new("probelistener")
    for url, metadata in ((probe_db, probe_metadata), (listener_db, listener_metadata)):
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
    manager = Processes(private_broker.uri, tmp_path)
    probe = manager.service(PROBE, "probe", probe_db)
    listener = manager.service(LISTENER, "probelistener", listener_db,
                               GUICHET_HANDLER_MAX_ATTEMPTS=3, GUICHET_HANDLER_RETRY_DELAYS="0.2,0.4")
    yield private_broker, probe, listener, probe_db, listener_db
    manager.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        import sys

        for process in manager.started:
            sys.stderr.write(f"\n----- log of {process.name} -----\n{process.log()[-8000:]}\n")


def test_services_live_through_a_broker_restart_with_calls_in_flight(drill):
    broker, probe, listener, probe_db, listener_db = drill
    client = RpcClient(broker.uri, timeout=2.0, name="drill-check")
    with Load(broker.uri) as load:
        wait_for(lambda: len(load.accepted) >= 20, timeout=20, message="load under way")
        broker.stop()
        stopped_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        assert probe.running and listener.running, "a service exited while the broker was down"
        broker.start()
        back_at = time.monotonic()

        def answers():
            try:
                return client.call("probe", "create_note", "après", timeout=1.0)
            except GuichetError:
                return None

        after = wait_for(answers, timeout=30, interval=0.2, message="probe answering after the restart")
        recovered_in = time.monotonic() - back_at
        accepted_before = len(load.accepted)
        wait_for(lambda: len(load.accepted) > accepted_before + 10, timeout=15, message="load flowing again")
    outage = back_at - stopped_at

    assert probe.running and listener.running
    for process in (probe, listener):
        assert "service crashed" not in process.log(), process.log()[-4000:]

    # Nothing accepted is lost: every committed note (replied to or not) has its event published and handled.
    def all_published():
        return not _count(probe_db, sa.text("SELECT position FROM outbox WHERE published_at IS NULL"))

    wait_for(all_published, timeout=30, interval=0.5, message="outbox published")
    all_notes = _count(probe_db, sa.select(notes.c.id, notes.c.text))
    written = {row.id for row in all_notes if not row.text.startswith("poison")}
    assert set(load.accepted) | {after} <= {row.id for row in all_notes}

    def handled():
        return {row.note_id for row in _count(listener_db, sa.select(received.c.note_id))} >= written

    wait_for(handled, timeout=30, interval=0.5, message="every note's event handled")
    print(f"\nbroker down {outage:.1f} s; after it was back: probe answered in {recovered_in:.1f} s, every event "
          f"handled in {time.monotonic() - back_at:.1f} s; {len(written)} notes written, "
          f"{len(load.accepted)} acknowledged to callers, {load.failures} calls failed during the outage")
    # Nothing applied twice: one handled row per note, one inbox claim per event.
    handled_ids = [row.note_id for row in _count(listener_db, sa.select(received.c.note_id))]
    assert sorted(handled_ids) == sorted(written)
    inbox = _count(listener_db, sa.text("SELECT message_id FROM inbox"))
    assert len(inbox) == len(written)

    # Nor is a failing message lost on its way through the retry queues: each poison note's event reaches
    # the dead letters (a second copy is possible if the broker went between parking it and the ack).
    poisoned = {row.message_id for row in _count(probe_db, sa.text(
        "SELECT message_id FROM outbox WHERE body LIKE '%poison drill%'"))}
    assert poisoned

    def all_dead_lettered():
        return {letter["message_id"] for letter in dlq.list_dead_letters(broker.uri, "probelistener")} == poisoned

    wait_for(all_dead_lettered, timeout=30, interval=0.5, message="every poison note dead-lettered")
    client.close()


def _closed_port_uri() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/"  # nothing listens there once the probe socket is closed


def test_replies_to_an_unreachable_broker_are_dropped_and_logged_once(caplog):
    from guichet_common.messaging import ReplyPublisher

    replies = ReplyPublisher(_closed_port_uri())
    with caplog.at_level("WARNING", logger="guichet_common.messaging.replies"):
        sent = [replies.publish(b"{}", "", "amq.rabbitmq.reply-to.x", str(n)) for n in range(20)]
    assert sent == [False] * 20
    assert [r.getMessage() for r in caplog.records].count(
        "broker unreachable: RPC replies are dropped until it is back (callers time out)") == 1
    replies.close()


def test_the_rpc_client_backs_off_while_the_broker_is_unreachable(caplog, monkeypatch):
    from guichet_common import rpc_client

    attempts = []
    real_channel = rpc_client._ThreadChannel

    def counting_channel(*args):
        attempts.append(time.monotonic())
        return real_channel(*args)

    monkeypatch.setattr(rpc_client, "_ThreadChannel", counting_channel)
    client = RpcClient(_closed_port_uri(), timeout=1.0)
    with caplog.at_level("WARNING", logger="guichet_common.rpc_client"):
        for _ in range(20):
            with pytest.raises(GuichetError):
                client.call("probe", "create_note", "x")
    # Twenty calls in a burst: one connection attempt, the others refused at once, one warning.
    assert len(attempts) == 1
    assert [r.getMessage() for r in caplog.records] == ["message broker unreachable, reconnecting with backoff"]
