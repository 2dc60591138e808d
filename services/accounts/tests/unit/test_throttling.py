from datetime import datetime, timedelta, timezone

import pytest

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.throttling import (
    InMemoryThrottleStore,
    LoginThrottle,
    Throttle,
    ThrottlePolicy,
    ThrottleRecord,
    normalise_identifier,
    normalise_ip,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def minutes(n):
    return timedelta(minutes=n)


ONE_MINUTE = minutes(1)


def fail(throttle, key, times, start=T0, step=ONE_MINUTE):
    decision = None
    for i in range(times):
        decision = throttle.record_failure(key, start + i * step)
    return decision


def test_four_failures_are_allowed_the_fifth_locks():
    throttle = Throttle(InMemoryThrottleStore())
    assert fail(throttle, "pascal.dupin", 4).allowed
    assert throttle.check("pascal.dupin", T0 + minutes(4)).allowed
    decision = throttle.record_failure("pascal.dupin", T0 + minutes(4))
    assert not decision.allowed and decision.retry_after == minutes(15)
    assert not throttle.check("pascal.dupin", T0 + minutes(18)).allowed
    assert throttle.check("pascal.dupin", T0 + minutes(19)).allowed
    assert throttle.check("someone.else", T0 + minutes(5)).allowed


def test_sliding_window_forgets_old_failures():
    throttle = Throttle(InMemoryThrottleStore())
    fail(throttle, "k", 4, step=minutes(4))  # at 0, 4, 8, 12
    assert throttle.record_failure("k", T0 + minutes(16)).allowed  # the one at 0 is out of the window
    assert not throttle.record_failure("k", T0 + minutes(17)).allowed


def test_lockouts_grow_then_are_forgotten():
    throttle = Throttle(InMemoryThrottleStore())
    durations = []
    now = T0
    for _ in range(4):
        decision = fail(throttle, "k", 5, start=now, step=timedelta(seconds=1))
        durations.append(decision.retry_after)
        now = now + timedelta(seconds=4) + decision.retry_after
    assert durations == [minutes(15), minutes(30), minutes(60), minutes(120)]
    later = now + timedelta(hours=25)
    assert fail(throttle, "k", 5, start=later, step=timedelta(seconds=1)).retry_after == minutes(15)


def test_lockout_is_capped():
    policy = ThrottlePolicy(max_failures=1, lockout=timedelta(hours=10), max_lockout=timedelta(hours=24))
    throttle = Throttle(InMemoryThrottleStore(), policy)
    first = throttle.record_failure("k", T0)
    second = throttle.record_failure("k", T0 + first.retry_after)
    third = throttle.record_failure("k", T0 + first.retry_after + second.retry_after)
    assert (first.retry_after, second.retry_after, third.retry_after) == (
        timedelta(hours=10), timedelta(hours=20), timedelta(hours=24))


def test_failures_while_locked_do_not_extend_the_lockout():
    throttle = Throttle(InMemoryThrottleStore())
    fail(throttle, "k", 5)
    decision = throttle.record_failure("k", T0 + minutes(10))
    assert not decision.allowed and decision.retry_after == minutes(9)


def test_success_resets():
    throttle = Throttle(InMemoryThrottleStore())
    fail(throttle, "k", 4)
    throttle.record_success("k", T0 + minutes(4))
    assert fail(throttle, "k", 4, start=T0 + minutes(5)).allowed


def test_the_refusal_message_is_french_and_rounds_up():
    throttle = Throttle(InMemoryThrottleStore())
    fail(throttle, "k", 5)
    decision = throttle.check("k", T0 + minutes(4) + timedelta(seconds=30))
    assert decision.message == msg.LOGIN_THROTTLED.format(minutes=15)
    assert decision.retry_after_seconds == 870
    assert throttle.check("other", T0).message is None


def test_the_store_holds_no_identifier_in_clear():
    store = InMemoryThrottleStore()
    Throttle(store).record_failure("dupin@yopmail.com", T0)
    assert all("dupin" not in key for key in store.records)


def test_records_are_json_friendly_and_expire():
    store = InMemoryThrottleStore()
    Throttle(store).record_failure("k", T0)
    (record, expires), = store.records.values()
    assert ThrottleRecord.from_dict(record.to_dict()) == record
    assert expires >= (T0 + timedelta(hours=24)).timestamp()
    store.purge(expires + 1)
    assert store.records == {}


def test_namespaces_are_independent():
    store = InMemoryThrottleStore()
    login, family_link = Throttle(store, namespace="login"), Throttle(store, namespace="family-link")
    fail(login, "16087", 5)
    assert not login.check("16087", T0 + minutes(5)).allowed
    assert family_link.check("16087", T0 + minutes(5)).allowed


def test_policy_validation():
    with pytest.raises(ValueError):
        ThrottlePolicy(max_failures=0)
    with pytest.raises(ValueError):
        ThrottlePolicy(growth=0.5)


# ---------------------------------------------------------------- login: identifier and IP

def test_identifiers_are_normalised():
    assert normalise_identifier("  Pascal.DUPIN ") == "pascal.dupin"
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i, typed in enumerate(["pascal.dupin", "PASCAL.DUPIN", " Pascal.Dupin", "pascal.dupin ", "Pascal.dupin"]):
        decision = throttle.record_failure(typed, None, T0 + timedelta(seconds=i))
    assert not decision.allowed


def test_unknown_and_existing_logins_are_throttled_alike():
    """Non-enumeration: the throttle never knows whether an account exists, so outcomes are identical."""
    def run(identifier):
        throttle = LoginThrottle(InMemoryThrottleStore())
        outcomes = []
        for i in range(7):
            now = T0 + timedelta(seconds=i)
            outcomes.append((throttle.check(identifier, "203.0.113.7", now),
                             throttle.record_failure(identifier, "203.0.113.7", now)))
        return outcomes
    assert run("pascal.dupin") == run("nobody.here")


def test_per_ip_limit_catches_password_spraying():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(19):
        assert throttle.record_failure(f"user{i}", "203.0.113.7", T0 + timedelta(seconds=i)).allowed
    assert not throttle.record_failure("user19", "203.0.113.7", T0 + timedelta(seconds=19)).allowed
    assert not throttle.check("fresh.user", "203.0.113.7", T0 + minutes(1)).allowed
    assert throttle.check("fresh.user", "198.51.100.1", T0 + minutes(1)).allowed


def test_a_success_does_not_reset_the_ip_counter():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(15):
        throttle.record_failure(f"user{i}", "203.0.113.7", T0 + timedelta(seconds=i))
    throttle.record_success("my.account", "203.0.113.7", T0 + minutes(1))
    for i in range(4):
        throttle.record_failure(f"other{i}", "203.0.113.7", T0 + minutes(2))
    assert not throttle.record_failure("last", "203.0.113.7", T0 + minutes(2)).allowed


def test_ipv6_is_counted_per_64():
    assert normalise_ip("2001:db8:1:2:3:4:5:6") == normalise_ip("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert normalise_ip("::ffff:203.0.113.7") == "203.0.113.7"
    assert normalise_ip(" 203.0.113.7 ") == "203.0.113.7"
    assert normalise_ip("unknown") == "unknown"


def test_worst_decision_wins():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(4):
        throttle.record_failure("pascal.dupin", "203.0.113.7", T0 + timedelta(seconds=i))
    for i in range(16):
        throttle.record_failure(f"user{i}", "203.0.113.7", T0 + timedelta(seconds=10 + i))
    decision = throttle.check("pascal.dupin", "203.0.113.7", T0 + minutes(1))  # the address is locked out
    assert not decision.allowed and not decision.slowed and decision.retry_after > minutes(13)


def test_the_slow_down_policy():
    policy = ThrottlePolicy(slow_down=timedelta(seconds=2))
    assert [policy.delay_after(n) for n in range(5)] == [timedelta(0), timedelta(0), timedelta(seconds=2),
                                                         timedelta(seconds=4), timedelta(seconds=8)]
    assert ThrottlePolicy().delay_after(4) == timedelta(0)
