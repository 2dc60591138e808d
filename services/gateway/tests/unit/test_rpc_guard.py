"""The RPC guard (guichet_common.rpc_guard): a dead or stuck service fails fast and cannot take every thread.

Time is a fake clock here: the behaviour (what is refused, when the broker is asked) is asserted, not speed.
"""
from contextlib import ExitStack

import pytest

from guichet_common.errors import InvalidInput, ServiceTimeout, ServiceUnavailable
from guichet_common.rpc_guard import CircuitOpen, GuardSettings, ServiceBusy, ServiceDown, ServiceGuard
from guichet_gateway.rpc import guard_settings
from guichet_gateway.settings import GatewaySettings


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Broker:
    """Answers the guard's consumer checks and counts them."""

    def __init__(self, consumers: int | None = 1):
        self.consumers = consumers
        self.checks = 0

    def count(self) -> int | None:
        self.checks += 1
        return self.consumers


@pytest.fixture
def clock():
    return Clock()


def make_guard(clock, **settings) -> ServiceGuard:
    return ServiceGuard(GuardSettings(**settings), clock=clock)


def call(guard: ServiceGuard, broker: Broker, service: str = "accounts", outcome: BaseException | None = None):
    with guard.admit(service, broker.count):
        if outcome is not None:
            raise outcome
        return "answer"


def test_a_service_without_consumer_fails_at_once_with_retry_after(clock):
    guard, broker = make_guard(clock, breaker_seconds=5), Broker(consumers=0)
    with pytest.raises(ServiceDown) as refused:
        call(guard, broker)
    problem = refused.value.problem()
    assert isinstance(refused.value, ServiceUnavailable)
    assert problem["type"] == "urn:guichet:problem:service-unavailable"
    assert problem["status"] == 503
    assert problem["retry_after"] == 5
    assert "indisponible" in problem["detail"]


def test_the_broker_is_asked_at_most_once_per_interval_and_a_comeback_is_seen(clock):
    guard, broker = make_guard(clock, check_interval=1.0), Broker(consumers=0)
    for _ in range(20):
        with pytest.raises(ServiceDown):
            call(guard, broker)
    assert broker.checks == 1

    broker.consumers = 1  # the service is started again
    clock.now += 0.5
    with pytest.raises(ServiceDown):
        call(guard, broker)  # the last answer is still fresh
    clock.now += 0.5
    assert call(guard, broker) == "answer"
    assert broker.checks == 2


def test_replies_prove_a_consumer_so_a_busy_service_is_not_checked(clock):
    guard, broker = make_guard(clock, check_interval=1.0), Broker()
    for _ in range(10):
        clock.now += 0.5
        assert call(guard, broker) == "answer"
    assert broker.checks == 1  # the first call; each reply since refreshed the verdict


def test_a_stop_noticed_by_a_call_fails_the_next_calls_at_once(clock):
    guard, broker = make_guard(clock, check_interval=1.0), Broker()
    call(guard, broker)
    with pytest.raises(ServiceDown) as timed_out:  # the RPC client: timed out, and the queue has no consumer
        call(guard, broker, outcome=ServiceDown())
    assert timed_out.value.problem()["retry_after"] >= 1
    with pytest.raises(ServiceDown):
        call(guard, broker)
    assert guard.status("accounts")["has_consumer"] is False


def test_an_unknown_consumer_count_lets_the_call_try(clock):
    guard = make_guard(clock)
    assert call(guard, Broker(consumers=None)) == "answer"


def test_the_bulkhead_refuses_past_the_share_of_one_service_and_others_still_pass(clock):
    guard, broker = make_guard(clock, max_calls_per_service=2, max_calls=7), Broker()
    with ExitStack() as in_flight:
        for _ in range(2):
            in_flight.enter_context(guard.admit("accounts", broker.count))
        with pytest.raises(ServiceBusy) as refused:
            call(guard, broker, "accounts")
        assert refused.value.problem()["retry_after"] == 1
        assert refused.value.problem()["type"] == "urn:guichet:problem:service-unavailable"
        assert call(guard, broker, "billing") == "answer"
    assert call(guard, broker, "accounts") == "answer"  # slots are given back, whatever the outcome


def test_rpc_calls_in_all_leave_a_thread_free(clock):
    guard, broker = make_guard(clock, max_calls_per_service=2, max_calls=3), Broker()
    with ExitStack() as in_flight:
        for service in ("accounts", "accounts", "billing"):
            in_flight.enter_context(guard.admit(service, broker.count))
        with pytest.raises(ServiceBusy):
            call(guard, broker, "demarches")


def test_a_slot_is_given_back_when_the_call_fails(clock):
    guard, broker = make_guard(clock, max_calls_per_service=1), Broker()
    for outcome in (ServiceTimeout(), ServiceUnavailable(), InvalidInput(), RuntimeError("bug")):
        with pytest.raises(type(outcome)):
            call(guard, broker, outcome=outcome)
    assert call(guard, broker) == "answer"


def test_the_breaker_opens_after_consecutive_timeouts_then_one_call_probes(clock):
    guard, broker = make_guard(clock, breaker_timeouts=3, breaker_seconds=5), Broker()
    for _ in range(2):
        with pytest.raises(ServiceTimeout):
            call(guard, broker, outcome=ServiceTimeout())
    call(guard, broker)  # a reply in between: the count starts again
    for _ in range(3):
        with pytest.raises(ServiceTimeout):
            call(guard, broker, outcome=ServiceTimeout())
    assert guard.status("accounts")["breaker"] == "open"

    clock.now += 2
    with pytest.raises(CircuitOpen) as refused:
        call(guard, broker)
    assert refused.value.problem()["retry_after"] == 3
    assert call(guard, broker, "billing") == "answer"

    clock.now += 3
    with guard.admit("accounts", broker.count):  # the probe
        assert guard.status("accounts")["breaker"] == "half-open"
        with pytest.raises(CircuitOpen):
            call(guard, broker)  # only one probe at a time
    assert guard.status("accounts")["breaker"] == "closed"
    assert call(guard, broker) == "answer"


def test_a_probe_that_times_out_opens_the_breaker_again(clock):
    guard, broker = make_guard(clock, breaker_timeouts=1, breaker_seconds=5), Broker()
    with pytest.raises(ServiceTimeout):
        call(guard, broker, outcome=ServiceTimeout())
    clock.now += 5
    with pytest.raises(ServiceTimeout):
        call(guard, broker, outcome=ServiceTimeout())
    with pytest.raises(CircuitOpen):
        call(guard, broker)


def test_a_refusal_from_the_service_is_an_answer_and_broker_trouble_no_verdict(clock):
    guard, broker = make_guard(clock, breaker_timeouts=2), Broker()
    with pytest.raises(ServiceTimeout):
        call(guard, broker, outcome=ServiceTimeout())
    with pytest.raises(InvalidInput):
        call(guard, broker, outcome=InvalidInput())
    with pytest.raises(ServiceTimeout):
        call(guard, broker, outcome=ServiceTimeout())
    with pytest.raises(ServiceUnavailable):
        call(guard, broker, outcome=ServiceUnavailable())  # the broker went away: says nothing of the service
    assert guard.status("accounts")["consecutive_timeouts"] == 1
    assert guard.status("accounts")["breaker"] == "closed"


def test_no_breaker_when_disabled(clock):
    guard, broker = make_guard(clock, breaker_timeouts=0), Broker()
    for _ in range(10):
        with pytest.raises(ServiceTimeout):
            call(guard, broker, outcome=ServiceTimeout())
    assert call(guard, broker) == "answer"


def test_the_gateway_sizes_its_bulkheads_from_its_threads():
    settings = GatewaySettings.from_env({"GUICHET_GATEWAY_THREADS": "8"})
    sized = guard_settings(settings)
    assert (sized.max_calls_per_service, sized.max_calls) == (4, 7)
    assert (sized.check_interval, sized.breaker_timeouts, sized.breaker_seconds) == (1.0, 3, 5.0)
    small = guard_settings(GatewaySettings.from_env({"GUICHET_GATEWAY_THREADS": "1"}))
    assert (small.max_calls_per_service, small.max_calls) == (1, 1)


def test_the_gateway_answers_a_refusal_as_a_503_problem_with_retry_after(client, fake_rpc):
    fake_rpc.replies[("billing", "invoices")] = ServiceDown(retry_after=5)
    response = client.get("/api/v1/test/rpc/billing/invoices")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    body = response.get_json(force=True)
    assert body["type"] == "urn:guichet:problem:service-unavailable"
    assert body["detail"] == ServiceDown.detail


def test_readiness_says_why_a_service_is_refused(client, fake_rpc):
    fake_rpc.replies[("billing", "health")] = ServiceDown(retry_after=5)
    fake_rpc.replies[("accounts", "health")] = CircuitOpen(retry_after=5)
    body = client.get("/api/ready").get_json(force=True)
    assert body["down"] == ["accounts", "billing"]
    assert body["services"]["billing"] == {"status": "down", "reason": "no-consumer"}
    assert body["services"]["accounts"] == {"status": "down", "reason": "circuit-open"}
