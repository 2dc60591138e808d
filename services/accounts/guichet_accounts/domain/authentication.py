"""The login decision, without I/O: throttle, look up, verify, same answer for unknown accounts.

Issue 4: « Login by login or email … Throttling and temporary lock-out after
repeated failures, without revealing whether an account exists ». The service
passes a ``lookup`` callable (its repository) and the client's IP; this module
decides. An unknown identifier costs the same argon2 verification as a known
one (``verify_against_nothing``), counts as a failure under the same key, and
gets the same message.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher

from guichet_common import clock
from guichet_common.clock import Zone

from . import messages as msg
from .passwords import needs_rehash, verify_against_nothing, verify_password
from .throttling import LoginThrottle


@dataclass(frozen=True)
class StoredCredentials:
    """What the service's repository returns for a login or an email that exists (and is activated)."""

    account_id: str
    password_hash: str


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    account_id: str | None = None
    message: str | None = None  # French, identical for unknown and known accounts
    retry_after: timedelta | None = None
    rehash: bool = False  # store hash_password(password) again: the parameters have changed


def attempt_login(throttle: LoginThrottle, *, identifier: str, password: str, ip: str | None, now: datetime,
                  lookup: Callable[[str], StoredCredentials | None],
                  hasher: PasswordHasher | None = None) -> LoginResult:
    decision = throttle.check(identifier, ip, now)
    if not decision.allowed:
        return LoginResult(False, message=decision.message, retry_after=decision.retry_after)
    credentials = lookup(identifier)
    if credentials is None:
        verified = verify_against_nothing(password, hasher=hasher)
    else:
        verified = verify_password(credentials.password_hash, password, hasher=hasher)
    if not verified:
        decision = throttle.record_failure(identifier, ip, now)
        if decision.allowed:
            return LoginResult(False, message=msg.LOGIN_FAILED)
        return LoginResult(False, message=decision.message, retry_after=decision.retry_after)
    throttle.record_success(identifier, ip, now)
    return LoginResult(True, account_id=credentials.account_id,
                       rehash=needs_rehash(credentials.password_hash, hasher=hasher))


def last_login_label(when: datetime, zone: Zone) -> str:
    """« Dernière connexion le 10/07/2017 à 16:13 » (seed 001), in the town's time zone."""
    return msg.LAST_LOGIN.format(date=clock.format_short_date(when, zone), time=clock.format_clock_time(when, zone))
