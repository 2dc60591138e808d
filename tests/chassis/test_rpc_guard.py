"""The RPC guard against real services: a stopped service fails fast, a stuck one holds only its share of
the caller's threads and opens its breaker (issue 17 §2). Without the guard, every call to a stopped service
waits the whole RPC timeout (test_rpc.py: test_a_stopped_service_is_unavailable_within_the_timeout).

Speed is asserted against the RPC timeout with wide margins, never as a latency target (that is bench/)."""
import threading
import time

import pytest

from guichet_common.errors import ServiceTimeout
from guichet_common.rpc_client import RpcClient
from guichet_common.rpc_guard import CircuitOpen, GuardSettings, ServiceBusy, ServiceDown, ServiceGuard
from guichet_common.testing import wait_for

pytestmark = [pytest.mark.interface, pytest.mark.fault]

TIMEOUT = 5.0


@pytest.fixture
def guarded(amqp_uri):
    clients = []

    def make(**settings) -> RpcClient:
        client = RpcClient(amqp_uri, timeout=TIMEOUT, name="guard-tests", guard=ServiceGuard(GuardSettings(**settings)))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_a_stopped_service_fails_at_once_and_is_called_again_when_back(probe, guarded):
    client = guarded(check_interval=0.5)
    assert client.call("probe", "sleep", 0) == 0
    probe.stop()  # its queue stays, with no consumer: what a crashed or stopped service leaves
    time.sleep(0.5)  # the last reply no longer vouches for it

    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(ServiceDown) as refused:
            client.call("probe", "sleep", 0)
    assert time.monotonic() - started < TIMEOUT / 2, "twenty calls answered before one RPC timeout"
    assert refused.value.problem()["retry_after"] >= 1
    assert client.guard.status("probe")["has_consumer"] is False

    probe.start().wait_healthy()
    assert wait_for(lambda: _answers(client), timeout=10, message="the guard sees the service back")


def _answers(client) -> bool:
    try:
        return client.call("probe", "sleep", 0) == 0
    except ServiceDown:
        return False


def test_a_stuck_service_holds_only_its_share_and_the_others_keep_answering(probe, listener, guarded):
    client = guarded(max_calls_per_service=2, max_calls=3, breaker_timeouts=0)
    results = []
    stuck = [threading.Thread(target=lambda: results.append(client.call("probe", "sleep", 3, timeout=10)))
             for _ in range(2)]
    for thread in stuck:
        thread.start()
    wait_for(lambda: client.guard.status("probe")["in_flight"] == 2, message="two calls in flight")

    started = time.monotonic()
    with pytest.raises(ServiceBusy):
        client.call("probe", "sleep", 0)
    assert time.monotonic() - started < 1.0, "refused without waiting for the stuck calls"
    assert client.call("probelistener", "received_notes") == []  # another service: its own slots
    assert client.guard.status("probe")["in_flight"] == 2

    for thread in stuck:
        thread.join(15)
    assert results == [3, 3]
    assert client.call("probe", "sleep", 0) == 0


def test_a_service_that_keeps_timing_out_opens_its_breaker_then_a_probe_closes_it(probe, guarded):
    client = guarded(breaker_timeouts=2, breaker_seconds=1.0)
    for _ in range(2):
        with pytest.raises(ServiceTimeout):
            client.call("probe", "sleep", 2, timeout=0.3)
    assert client.guard.status("probe")["breaker"] == "open"

    started = time.monotonic()
    with pytest.raises(CircuitOpen) as refused:
        client.call("probe", "sleep", 0)
    assert time.monotonic() - started < 0.3, "refused before the call's own timeout"
    assert refused.value.problem()["retry_after"] == 1

    time.sleep(1.0)
    assert client.call("probe", "sleep", 0) == 0  # the probe: the service answers, the breaker closes
    assert client.guard.status("probe")["breaker"] == "closed"
