"""The external subscriber example against the real broker (no Guichet service here:
the test publishes envelopes itself; the end-to-end test runs it against a real service)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pika
import pika.exceptions
import pytest

from guichet_contracts import envelope as envelopes
from guichet_contracts import generate
from guichet_contracts.files import CONTRACTS_DIR

pytestmark = pytest.mark.interface

SCRIPT = CONTRACTS_DIR / "examples" / "subscriber.py"
AMQP_URI = os.environ.get("GUICHET_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def _broker_up() -> bool:
    url = urlparse(AMQP_URI)
    try:
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 5672), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def broker():
    if not _broker_up():
        pytest.skip(f"no RabbitMQ at {AMQP_URI} (make broker)")
    exchange = f"contracts-test-{uuid.uuid4().hex[:8]}.events"
    queue = f"contracts-test.subscriber.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URI))
    channel = connection.channel()
    channel.confirm_delivery()

    def publish(body: bytes | str, routing_key: str = "fr.guichet.accounts.account.registered.v1"):
        channel.basic_publish(exchange, routing_key, body.encode() if isinstance(body, str) else body,
                              pika.BasicProperties(delivery_mode=2, content_type=envelopes.CONTENT_TYPE),
                              mandatory=True)

    yield exchange, queue, publish
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    connection.close()


def run(exchange, queue, *extra, timeout=15.0):
    env = {**os.environ, "AMQP_URI": AMQP_URI}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--exchange", exchange, "--queue", queue, *extra],
        capture_output=True, text=True, timeout=timeout + 30, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def event(message_type="fr.guichet.accounts.account.registered.v1", **overrides):
    contract = next(c for c in generate.builtin_contracts() if c.type == message_type)
    message = envelopes.make_envelope(type=message_type, source=contract.producer,
                                      data=contract.dump(contract.example), subject="acc-1")
    return {**message, **overrides}


def test_subscriber_prints_acks_dedupes_and_keeps_the_rest_for_later(broker):
    exchange, queue, publish = broker
    # first run: declares the exchange (as the producers do) and its durable queue
    lines, _ = run(exchange, queue, "--binding-key", "fr.guichet.accounts.#", "--timeout", "0.5")
    assert lines == []
    first, second, third = event(), event(), event("fr.guichet.accounts.account.activated.v1")
    publish(json.dumps(first))
    publish(json.dumps(first))  # redelivered duplicate: same id
    publish("not json")  # poison: rejected, not printed, not blocking the queue
    publish(json.dumps(second))
    publish(json.dumps(third), routing_key=third["type"])
    lines, stderr = run(exchange, queue, "--max-messages", "2", "--timeout", "15")
    assert lines == [{"type": m["type"], "id": m["id"], "subject": "acc-1", "time": m["time"]}
                     for m in (first, second)]
    assert "duplicate" in stderr and "rejected" in stderr
    # the third was prefetched by the first run but not acked: it is still in the durable queue
    lines, _ = run(exchange, queue, "--max-messages", "5", "--timeout", "2")
    assert [line["id"] for line in lines] == [third["id"]]
    lines, _ = run(exchange, queue, "--timeout", "0.5")
    assert lines == []


def _wait_for_consumer(queue: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URI))
        try:
            if connection.channel().queue_declare(queue, passive=True).method.consumer_count:
                return
        except pika.exceptions.ChannelClosedByBroker:  # 404: not declared yet
            pass
        finally:
            if connection.is_open:
                connection.close()
        time.sleep(0.1)
    raise AssertionError(f"no consumer on {queue} after {timeout} s")


def test_subscriber_stops_cleanly_on_sigterm(broker):
    exchange, queue, _publish = broker
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--exchange", exchange, "--queue", queue,
                                "--amqp-uri", AMQP_URI], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_consumer(queue)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "interrupted" in err


def test_subscriber_reports_an_unreachable_broker():
    done = subprocess.run([sys.executable, str(SCRIPT), "--exchange", "accounts.events", "--queue", "q",
                           "--amqp-uri", "amqp://guest:guest@127.0.0.1:1/"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "AMQP error" in done.stderr


def test_example_uses_no_guichet_code():
    source = Path(SCRIPT).read_text()
    assert "guichet_" not in source and "nameko" not in source
