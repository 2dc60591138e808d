"""Throttling of failed attempts: a growing delay first, then a temporary, growing lock-out.

Reusable: the login uses it now, the family-file link (code famille + numéro
de facture + mot de passe de 1ère connexion, seed 000) will use it later.

- A ``Throttle`` counts failures per key in a sliding window (default 5 in
  15 minutes). Reaching the limit locks the key for ``lockout`` (15 minutes),
  then twice as long at each new lock-out (30 min, 1 h, …, at most 24 h); the
  lock-out count is forgotten after ``forget_after`` (24 h) without failure.
  Before that, a policy with ``slow_down`` makes the key wait a growing delay
  after each failure from the ``slow_down_after``-th (2 s, 4 s, 8 s…): the
  soft step a citizen who mistypes hardly notices and a script does.
- Keys are what the caller typed, normalised (login or email, lower-case,
  NFKC), never an account id: an unknown login is throttled exactly like a
  real one, so the outcome never tells whether an account exists. A login and
  the email of the same account are therefore two keys (at most 2 × 5 tries
  per window), which the per-IP throttle bounds as well.
- Keys are stored hashed (SHA-256), so the store holds no login, email or IP.
- ``LoginThrottle`` (issue 11: a stranger who knows a login must not lock its
  citizen out) combines three throttles:
  * per identifier *and* client address together: the growing delay, then
    the lock-out above; it locks that address out for that login only;
  * per identifier, from every address: a ceiling against guessing from many
    addresses, high (30 failures in an hour) and short (15 minutes, never
    longer), so nobody can lock a citizen out for a day;
  * per client address: 20 failures in 15 minutes, whatever the logins (not
    reset by a success so that one good account cannot launder a
    password-spraying address). IPv6 clients are counted per /64, the block
    one subscriber usually has.
  docs/security.md states these rules.
- Pure logic over a ``ThrottleStore`` (get / put / delete small records);
  ``InMemoryThrottleStore`` is for tests and single-process use. Times are
  passed in (``now``) so that tests and replays are deterministic.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from . import messages as msg


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    growth: float = 2.0
    max_lockout: timedelta = timedelta(hours=24)
    forget_after: timedelta = timedelta(hours=24)
    reset_on_success: bool = True
    slow_down: timedelta = timedelta(0)  # 0: no delay; else the wait after the ``slow_down_after``-th failure
    slow_down_after: int = 2

    def __post_init__(self):
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window <= timedelta(0) or self.lockout <= timedelta(0):
            raise ValueError("window and lockout must be positive")
        if self.growth < 1:
            raise ValueError("growth must be at least 1")

    def delay_after(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in the window (doubling from ``slow_down_after``)."""
        if not self.slow_down or failures < self.slow_down_after:
            return timedelta(0)
        return self.slow_down * 2 ** (failures - self.slow_down_after)

    def lockout_duration(self, lockouts: int) -> timedelta:
        """Duration of the ``lockouts``-th lock-out (1-based)."""
        seconds = self.lockout.total_seconds() * self.growth ** (lockouts - 1)
        return min(timedelta(seconds=seconds), self.max_lockout)


@dataclass(frozen=True)
class ThrottleRecord:
    """What is stored per key: small and JSON-friendly (epoch seconds)."""

    failures: tuple[float, ...] = ()
    locked_until: float | None = None
    lockouts: int = 0
    last_failure: float | None = None

    def to_dict(self) -> dict:
        return {"failures": list(self.failures), "locked_until": self.locked_until, "lockouts": self.lockouts,
                "last_failure": self.last_failure}

    @classmethod
    def from_dict(cls, data: dict) -> "ThrottleRecord":
        return cls(tuple(data.get("failures") or ()), data.get("locked_until"), int(data.get("lockouts") or 0),
                   data.get("last_failure"))


class ThrottleStore(Protocol):
    def get(self, key: str) -> ThrottleRecord | None: ...

    def put(self, key: str, record: ThrottleRecord, *, expires_at: float) -> None:
        """Keep ``record``; the store may drop it after ``expires_at`` (epoch seconds)."""

    def delete(self, key: str) -> None: ...


class InMemoryThrottleStore:
    def __init__(self):
        self.records: dict[str, tuple[ThrottleRecord, float]] = {}

    def get(self, key: str) -> ThrottleRecord | None:
        entry = self.records.get(key)
        return entry[0] if entry else None

    def put(self, key: str, record: ThrottleRecord, *, expires_at: float) -> None:
        self.records[key] = (record, expires_at)

    def delete(self, key: str) -> None:
        self.records.pop(key, None)

    def purge(self, now: float) -> None:
        for key in [k for k, (_, expires) in self.records.items() if expires <= now]:
            del self.records[key]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: timedelta | None = None
    slowed: bool = False  # a delay of seconds (the soft step), not a lock-out

    @property
    def retry_after_seconds(self) -> int:
        return math.ceil(self.retry_after.total_seconds()) if self.retry_after else 0

    @property
    def message(self) -> str | None:
        """The French refusal (same text for any key, existing account or not)."""
        if self.allowed:
            return None
        if self.slowed:
            return msg.LOGIN_SLOWED.format(seconds=max(1, self.retry_after_seconds))
        return msg.LOGIN_THROTTLED.format(minutes=max(1, math.ceil(self.retry_after_seconds / 60)))


ALLOWED = Decision(True)


def _ts(now: datetime) -> float:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.timestamp()


def normalise_identifier(identifier: str) -> str:
    return unicodedata.normalize("NFKC", identifier or "").strip().casefold()


def normalise_ip(ip: str) -> str:
    """The client address as counted: IPv4 as is, IPv6 by /64; unreadable values as typed."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return (ip or "").strip().lower()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class Throttle:
    store: ThrottleStore
    policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    namespace: str = "login"

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:40]
        return f"{self.namespace}:{digest}"

    def _load(self, key: str, now: float) -> ThrottleRecord:
        record = self.store.get(key) or ThrottleRecord()
        window_start = now - self.policy.window.total_seconds()
        failures = tuple(t for t in record.failures if t > window_start)
        lockouts = record.lockouts
        if record.last_failure is not None and now - record.last_failure >= self.policy.forget_after.total_seconds():
            lockouts = 0
        locked_until = record.locked_until if record.locked_until and record.locked_until > now else None
        return ThrottleRecord(failures, locked_until, lockouts, record.last_failure)

    def check(self, subject: str, now: datetime) -> Decision:
        """May an attempt for ``subject`` be made now? (Ask before checking the password.)"""
        t = _ts(now)
        record = self._load(self.key(subject), t)
        if record.locked_until:
            return Decision(False, timedelta(seconds=record.locked_until - t))
        delay = self.policy.delay_after(len(record.failures)).total_seconds()
        if delay and record.failures[-1] + delay > t:
            return Decision(False, timedelta(seconds=record.failures[-1] + delay - t), slowed=True)
        return ALLOWED

    def record_failure(self, subject: str, now: datetime) -> Decision:
        key, t = self.key(subject), _ts(now)
        record = self._load(key, t)
        if record.locked_until:  # already locked: an attempt should not have been made; do not extend
            return Decision(False, timedelta(seconds=record.locked_until - t))
        failures = (*record.failures, t)
        lockouts, locked_until = record.lockouts, None
        if len(failures) >= self.policy.max_failures:
            lockouts += 1
            locked_until = t + self.policy.lockout_duration(lockouts).total_seconds()
            failures = ()
        new = ThrottleRecord(failures, locked_until, lockouts, t)
        expires = max(locked_until or 0, t + self.policy.window.total_seconds(),
                      t + self.policy.forget_after.total_seconds())
        self.store.put(key, new, expires_at=expires)
        if locked_until:
            return Decision(False, timedelta(seconds=locked_until - t))
        return ALLOWED

    def record_success(self, subject: str, now: datetime) -> None:
        if self.policy.reset_on_success:
            self.store.delete(self.key(subject))


# The login's three throttles (see the module doc and docs/security.md).
PER_IDENTIFIER_AND_ADDRESS = ThrottlePolicy(max_failures=5, slow_down=timedelta(seconds=2))
PER_IDENTIFIER = ThrottlePolicy(max_failures=30, window=timedelta(hours=1), lockout=timedelta(minutes=15), growth=1,
                                max_lockout=timedelta(minutes=15))
PER_ADDRESS = ThrottlePolicy(max_failures=20, reset_on_success=False)


@dataclass
class LoginThrottle:
    """Per identifier (login or email as typed) and client address together, per identifier, per address."""

    store: ThrottleStore
    per_identifier_and_address: ThrottlePolicy = PER_IDENTIFIER_AND_ADDRESS
    per_identifier: ThrottlePolicy = PER_IDENTIFIER
    per_ip: ThrottlePolicy = PER_ADDRESS
    namespace: str = "login"

    def __post_init__(self):
        # New namespaces: the records of the former per-identifier lock-out are not read again (they expire).
        self._by_pair = Throttle(self.store, self.per_identifier_and_address, f"{self.namespace}:pair")
        self._by_identifier = Throttle(self.store, self.per_identifier, f"{self.namespace}:ceiling")
        self._by_ip = Throttle(self.store, self.per_ip, f"{self.namespace}:ip")

    @staticmethod
    def _worst(*decisions: Decision) -> Decision:
        refused = [d for d in decisions if not d.allowed]
        if not refused:
            return ALLOWED
        return max(refused, key=lambda d: d.retry_after or timedelta(0))

    def _throttles(self, identifier: str, ip: str | None) -> list[tuple[Throttle, str]]:
        """Each throttle and its key; an address-less call (none known) counts under the identifier alone."""
        who, where = normalise_identifier(identifier), normalise_ip(ip) if ip else ""
        throttles = [(self._by_pair, f"{who}\n{where}"), (self._by_identifier, who)]
        if where:
            throttles.append((self._by_ip, where))
        return throttles

    def check(self, identifier: str, ip: str | None, now: datetime) -> Decision:
        return self._worst(*(throttle.check(key, now) for throttle, key in self._throttles(identifier, ip)))

    def record_failure(self, identifier: str, ip: str | None, now: datetime) -> Decision:
        return self._worst(*(throttle.record_failure(key, now) for throttle, key in self._throttles(identifier, ip)))

    def record_success(self, identifier: str, ip: str | None, now: datetime) -> None:
        for throttle, key in self._throttles(identifier, ip):
            throttle.record_success(key, now)
