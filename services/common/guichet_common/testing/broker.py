"""The test broker: a fresh RabbitMQ vhost per run and per test, an RPC client, an AMQP spy, a publisher."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid
from typing import Iterator

import pika
import pytest

from .. import amqp
from ..rpc_client import RpcClient

BROKER_URI = os.environ.get("GUICHET_TEST_BROKER_URI", "amqp://guest:guest@127.0.0.1:5672/")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class TestVhost:
    """A RabbitMQ vhost of its own for one test run: no leftovers, no collisions."""

    def __init__(self):
        self.name = f"guichet-test-{uuid.uuid4().hex[:10]}"
        base = urllib.parse.urlsplit(BROKER_URI)
        self.uri = urllib.parse.urlunsplit((base.scheme, base.netloc, "/" + urllib.parse.quote(self.name, safe=""),
                                            "", ""))

    def create(self):
        if not shutil.which("rabbitmqctl"):
            raise RuntimeError("rabbitmqctl is needed to create the test vhost (or set GUICHET_TEST_AMQP_URI)")
        _rabbitmqctl("add_vhost", self.name)
        user = urllib.parse.urlsplit(BROKER_URI).username or "guest"
        _rabbitmqctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        return self

    def delete(self):
        try:
            _rabbitmqctl("delete_vhost", self.name)
        except (subprocess.SubprocessError, OSError):
            pass


def pytest_configure(config):
    if os.environ.get("GUICHET_TEST_AMQP_URI"):
        config._guichet_vhost = None
        return
    try:
        vhost = TestVhost().create()
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        config._guichet_vhost = None
        config.issue_config_time_warning(pytest.PytestConfigWarning(f"no test vhost: {error}"), stacklevel=2)
        return
    config._guichet_vhost = vhost
    os.environ["GUICHET_TEST_AMQP_URI"] = vhost.uri


def pytest_unconfigure(config):
    vhost = getattr(config, "_guichet_vhost", None)
    if vhost is not None:
        vhost.delete()
        os.environ.pop("GUICHET_TEST_AMQP_URI", None)


_deletions: list[subprocess.Popen] = []


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A fresh vhost for each test: queues, dead letters and exchanges never leak between tests."""
    if os.environ.get("GUICHET_TEST_AMQP_URI") and not shutil.which("rabbitmqctl"):
        yield os.environ["GUICHET_TEST_AMQP_URI"]  # a remote broker: share the given vhost
        return
    try:
        vhost = TestVhost().create()
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        pytest.fail(f"no RabbitMQ test vhost ({error}); is rabbitmq-server running? run ./scripts/ensure-broker.sh")
    yield vhost.uri
    # Deleting takes ~0.4 s: let it run while the next test starts.
    _deletions.append(subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", vhost.name],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def pytest_sessionfinish(session, exitstatus):
    for process in _deletions:
        process.wait(60)


@pytest.fixture
def rpc(amqp_uri):
    client = RpcClient(amqp_uri, timeout=5.0, name="guichet-tests")
    yield client
    client.close()


class AmqpSpy:
    """Binds a private queue to an exchange and collects what is published there."""

    def __init__(self, amqp_uri: str, exchange: str, binding_key: str = "#"):
        self.connection = amqp.connect(amqp_uri, name="guichet-test-spy")
        self.channel = self.connection.channel()
        amqp.declare_exchange(self.channel, exchange)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.channel.queue_bind(self.queue, exchange, binding_key)

    def collect(self, count: int, timeout: float = 10.0) -> list[tuple[pika.BasicProperties, dict]]:
        received: list[tuple[pika.BasicProperties, dict]] = []
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.05)
                continue
            received.append((properties, json.loads(body)))
        return received

    def close(self):
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def amqp_spy(amqp_uri):
    spies = []

    def make(exchange: str, binding_key: str = "#") -> AmqpSpy:
        spy = AmqpSpy(amqp_uri, exchange, binding_key)
        spies.append(spy)
        return spy

    yield make
    for spy in spies:
        spy.close()


def publish(amqp_uri: str, exchange: str, routing_key: str, envelope: dict, **properties) -> None:
    """Publish a message as a producer would (used to test consumers)."""
    connection = amqp.connect(amqp_uri, name="guichet-test-publisher")
    try:
        channel = amqp.publishing_channel(connection, exchange)
        body = json.dumps(envelope).encode() if isinstance(envelope, dict) else envelope
        props = {"message_id": envelope.get("id") if isinstance(envelope, dict) else None,
                 "content_type": "application/cloudevents+json", "delivery_mode": 2, **properties}
        channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(**props))
    finally:
        connection.close()
