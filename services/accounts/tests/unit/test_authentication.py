from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.authentication import StoredCredentials, attempt_login, last_login_label
from guichet_accounts.domain.passwords import hash_password
from guichet_accounts.domain.throttling import InMemoryThrottleStore, LoginThrottle

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
PASSWORD = "Xk8#mq2Lp"
ACCOUNTS = {"pascal.dupin": StoredCredentials("acc-1", hash_password(PASSWORD, hasher=FAST)),
            "dupin@yopmail.com": StoredCredentials("acc-1", hash_password(PASSWORD, hasher=FAST))}


def login(throttle, identifier, password, now=T0, ip="203.0.113.7"):
    return attempt_login(throttle, identifier=identifier, password=password, ip=ip, now=now,
                         lookup=lambda typed: ACCOUNTS.get(typed.strip().lower()), hasher=FAST)


def test_good_login_by_login_or_email():
    throttle = LoginThrottle(InMemoryThrottleStore())
    assert login(throttle, "pascal.dupin", PASSWORD).account_id == "acc-1"
    result = login(throttle, "Dupin@Yopmail.com", PASSWORD)
    assert result.ok and result.account_id == "acc-1" and not result.rehash


def test_wrong_password_and_unknown_account_get_the_same_answer():
    throttle = LoginThrottle(InMemoryThrottleStore())
    wrong = login(throttle, "pascal.dupin", "Wrong#123")
    unknown = login(throttle, "nobody.here", "Wrong#123")
    assert wrong == unknown
    assert not wrong.ok and wrong.message == msg.LOGIN_FAILED and wrong.account_id is None


def test_lockout_is_identical_for_unknown_accounts():
    def sequence(identifier):
        throttle = LoginThrottle(InMemoryThrottleStore())
        return [login(throttle, identifier, "Wrong#123", T0 + timedelta(minutes=i)) for i in range(7)]
    existing, unknown = sequence("pascal.dupin"), sequence("nobody.here")
    assert existing == unknown
    assert [r.message == msg.LOGIN_FAILED for r in existing] == [True] * 4 + [False] * 3
    assert existing[4].message == msg.LOGIN_THROTTLED.format(minutes=15)


def test_locked_account_refuses_even_the_right_password():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(5):  # from one address: that address is locked out (tests/unit/test_targeted_lockout.py)
        login(throttle, "pascal.dupin", "Wrong#123", T0 + timedelta(minutes=i))
    assert not login(throttle, "pascal.dupin", PASSWORD, T0 + timedelta(minutes=5)).ok
    assert login(throttle, "pascal.dupin", PASSWORD, T0 + timedelta(minutes=20)).ok


def test_success_resets_the_identifier_counter():
    throttle = LoginThrottle(InMemoryThrottleStore())
    for i in range(4):
        login(throttle, "pascal.dupin", "Wrong#123", T0 + timedelta(minutes=i))
    assert login(throttle, "pascal.dupin", PASSWORD, T0 + timedelta(minutes=5)).ok
    for i in range(4):
        assert login(throttle, "pascal.dupin", "Wrong#123", T0 + timedelta(minutes=10 + i)).message == msg.LOGIN_FAILED


def test_rehash_is_asked_when_parameters_changed():
    throttle = LoginThrottle(InMemoryThrottleStore())
    result = attempt_login(throttle, identifier="pascal.dupin", password=PASSWORD, ip=None, now=T0,
                           lookup=ACCOUNTS.get)  # default (stronger) hasher verifies the weak hash
    assert result.ok and result.rehash


def test_last_login_label_in_paris_time():
    assert last_login_label(datetime(2017, 7, 10, 14, 13, tzinfo=timezone.utc), "Europe/Paris") == (
        "Dernière connexion le 10/07/2017 à 16:13")  # seed 001, summer time
    assert last_login_label(datetime(2017, 1, 10, 15, 13), "Europe/Paris") == "Dernière connexion le 10/01/2017 à 16:13"


def test_last_login_label_in_the_towns_time_zone():
    assert last_login_label(datetime(2017, 7, 10, 14, 13, tzinfo=timezone.utc), "Indian/Reunion") == (
        "Dernière connexion le 10/07/2017 à 18:13")
