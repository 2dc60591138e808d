"""Issue 11 item 6: a stranger who knows a login (prénom.nom) cannot lock its citizen out.

Failures count per login *and* address together: a few quick failures only slow that address down (a growing
delay of seconds), then that address alone is locked out for that login. The login itself is locked only after
many failures from many addresses, and briefly; the per-address limit (20 failures in 15 minutes) stays.
"""
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.authentication import StoredCredentials, attempt_login
from guichet_accounts.domain.passwords import hash_password
from guichet_accounts.domain.throttling import InMemoryThrottleStore, LoginThrottle

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
PASSWORD = "Xk8#mq2Lp"
ACCOUNTS = {"pascal.dupin": StoredCredentials("acc-1", hash_password(PASSWORD, hasher=FAST))}
STRANGER, CITIZEN = "203.0.113.7", "198.51.100.1"


def login(throttle, password, now, ip, identifier="pascal.dupin"):
    return attempt_login(throttle, identifier=identifier, password=password, ip=ip, now=now,
                         lookup=lambda typed: ACCOUNTS.get(typed.strip().lower()), hasher=FAST)


def minutes(n):
    return timedelta(minutes=n)


def test_failures_from_one_address_do_not_lock_the_right_password_out_from_another():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(5):
        login(throttle, "Wrong#123", T0 + minutes(i), STRANGER)
    assert not login(throttle, PASSWORD, T0 + minutes(5), STRANGER).ok  # that address is locked out
    assert login(throttle, PASSWORD, T0 + minutes(5), CITIZEN).ok


def test_a_stranger_failing_all_day_from_one_address_never_locks_the_citizen_out():
    throttle = LoginThrottle(InMemoryThrottleStore())
    now = T0
    while now < T0 + timedelta(hours=24):
        login(throttle, "Wrong#123", now, STRANGER)
        now += timedelta(seconds=30)
        if now.minute == 0 and now.second == 0:
            assert login(throttle, PASSWORD, now, CITIZEN).ok
    assert login(throttle, PASSWORD, now, CITIZEN).ok


def test_quick_failures_first_slow_the_address_down_for_seconds():
    throttle = LoginThrottle(InMemoryThrottleStore())
    assert login(throttle, "Wrong#123", T0, STRANGER).message == msg.LOGIN_FAILED
    assert login(throttle, "Wrong#123", T0 + timedelta(seconds=1), STRANGER).message == msg.LOGIN_FAILED
    slowed = login(throttle, PASSWORD, T0 + timedelta(seconds=2), STRANGER)
    assert not slowed.ok and slowed.retry_after is not None and slowed.retry_after <= timedelta(seconds=2)
    assert slowed.message == msg.LOGIN_SLOWED.format(seconds=1)
    assert login(throttle, PASSWORD, T0 + timedelta(seconds=3), STRANGER).ok  # no hard lock yet


def test_the_delay_grows_then_the_address_is_locked_out():
    throttle = LoginThrottle(InMemoryThrottleStore())
    delays, now = [], T0
    for _ in range(5):
        result = login(throttle, "Wrong#123", now, STRANGER)
        assert not result.ok
        delays.append(throttle.check("pascal.dupin", STRANGER, now).retry_after)
        now += delays[-1] or timedelta(0)
    assert delays[:4] == [None, timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert delays[4] == minutes(15)
    assert login(throttle, "Wrong#123", now - timedelta(seconds=1), STRANGER).message == (
        msg.LOGIN_THROTTLED.format(minutes=1))


def test_many_addresses_lock_the_login_briefly_and_never_longer():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for round_ in range(3):
        start = T0 + timedelta(hours=round_)
        for i in range(30):  # 30 failures from 15 addresses within the hour
            login(throttle, "Wrong#123", start + timedelta(seconds=60 * i), f"192.0.2.{i // 2 + 1}")
        after = start + minutes(30)
        refused = login(throttle, PASSWORD, after, CITIZEN)
        assert not refused.ok and refused.retry_after is not None and refused.retry_after <= minutes(15)
        assert login(throttle, PASSWORD, after + minutes(15), CITIZEN).ok


def test_the_per_address_limit_still_stops_password_spraying():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(20):
        login(throttle, "Wrong#123", T0 + timedelta(seconds=i), STRANGER, identifier=f"user{i}")
    assert not login(throttle, PASSWORD, T0 + minutes(1), STRANGER).ok
    assert login(throttle, PASSWORD, T0 + minutes(1), CITIZEN).ok


def test_unknown_and_existing_logins_are_still_throttled_alike():
    def run(identifier):
        throttle = LoginThrottle(InMemoryThrottleStore())
        return [login(throttle, "Wrong#123", T0 + timedelta(seconds=3 * i), STRANGER, identifier) for i in range(8)]
    assert run("pascal.dupin") == run("nobody.here")
