"""Rate limits of the delivery providers (the SMTP relay, each SMS provider): a token bucket."""
from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    """Token bucket: ``rate`` tokens per second, bursts up to ``capacity``.

    Pure apart from its clock (``clock()`` returns seconds, monotonic), so
    tests drive time by hand. Thread-safe (green threads included).
    """

    def __init__(self, rate: float, capacity: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` tokens if available now."""
        if n > self.capacity:
            raise ValueError("cannot take more tokens than the bucket holds")
        with self._lock:
            self._refill()
            if self._tokens >= n:
                self._tokens -= n
                return True
            return False

    def wait_time(self, n: float = 1) -> float:
        """Seconds until ``n`` tokens are available (0 when they are now)."""
        with self._lock:
            self._refill()
            missing = n - self._tokens
            return 0.0 if missing <= 0 else missing / self.rate

    def acquire(self, n: float = 1, *, timeout: float | None = None,
                sleep: Callable[[float], None] = time.sleep) -> bool:
        """Wait (with ``sleep``) for ``n`` tokens, at most ``timeout`` seconds."""
        waited = 0.0
        while True:
            if self.try_acquire(n):
                return True
            delay = self.wait_time(n)
            if timeout is not None and waited + delay > timeout:
                return False
            sleep(delay)
            waited += delay

