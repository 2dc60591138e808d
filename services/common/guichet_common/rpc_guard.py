"""What keeps one dead or stuck service from taking a caller's threads: the RPC client's guard.

Without it, a call to a stopped service (its queue is left, with no consumer)
waits the whole RPC timeout before its 503, and a few such calls a second
hold every thread of a gateway worker, so every route, the liveness probe
included, queues behind them. Per service, the guard:

- knows whether its RPC queue has a consumer: asked to the broker at most once
  per ``check_interval`` (one thread asks, the others use the last answer; a
  reply from the service counts as a yes), and a call to a service without one
  fails at once;
- opens a circuit breaker after ``breaker_timeouts`` timeouts in a row (a
  service that takes its calls but never answers): calls fail at once for
  ``breaker_seconds``, then one call probes, and its reply closes the breaker;
- is a bulkhead: at most ``max_calls_per_service`` calls to it at once, and at
  most ``max_calls`` calls in all (one thread of a worker stays free of RPC, for
  the probes and the routes that make no call); a call past either limit waits
  ``slot_wait`` at most (a loaded but healthy service frees a slot in a few
  milliseconds), then fails instead of queueing for a thread.

Every refusal is a ``ServiceUnavailable`` (503, ``urn:guichet:problem:service-unavailable``)
with a French detail and ``retry_after``, which the gateway answers as a Retry-After header.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import GuichetError, ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)


class ServiceDown(ServiceUnavailable):
    """Nothing consumes the service's RPC queue (stopped, crashed, not started)."""
    reason = "no-consumer"
    detail = "Ce service est momentanément indisponible. Veuillez réessayer dans quelques instants."


class CircuitOpen(ServiceUnavailable):
    """The service's last calls all timed out: it is not called until its breaker lets a probe through."""
    reason = "circuit-open"
    detail = "Ce service ne répond plus pour le moment. Veuillez réessayer dans quelques instants."


class ServiceBusy(ServiceUnavailable):
    """Calls to this service (or RPC calls in all) already hold their share of the threads."""
    reason = "busy"
    detail = "Ce service est très sollicité en ce moment. Veuillez réessayer dans quelques instants."


@dataclass(frozen=True)
class GuardSettings:
    check_interval: float = 1.0  # seconds between two consumer checks of one service
    max_calls_per_service: int | None = None  # None: no limit
    max_calls: int | None = None  # all services together; None: no limit
    breaker_timeouts: int = 0  # consecutive timeouts that open a breaker; 0: no breaker
    breaker_seconds: float = 5.0  # how long it stays open; also the Retry-After of a service that is down
    slot_wait: float = 0.0  # how long a call may wait for a free slot (a healthy but loaded service frees one in ms)
    busy_retry_after: int = 1


class _ServiceState:
    def __init__(self, slots: int | None):
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(slots) if slots else None
        self.has_consumer: bool | None = None  # None: not known yet
        self.checked_at = -math.inf
        self.checking = False
        self.timeouts = 0
        self.open_until: float | None = None  # the breaker is open (or half-open once passed)
        self.probing = False  # half-open: one call is trying the service
        self.in_flight = 0


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


class ServiceGuard:
    def __init__(self, settings: GuardSettings | None = None, clock: Callable[[], float] = time.monotonic):
        self.settings = settings or GuardSettings()
        self.clock = clock
        self._states: dict[str, _ServiceState] = {}
        self._states_lock = threading.Lock()
        self._all_slots = threading.BoundedSemaphore(self.settings.max_calls) if self.settings.max_calls else None

    def _state(self, service: str) -> _ServiceState:
        state = self._states.get(service)
        if state is None:
            with self._states_lock:
                state = self._states.setdefault(service, _ServiceState(self.settings.max_calls_per_service))
        return state

    @contextmanager
    def admit(self, service: str, count_consumers: Callable[[], int | None]) -> Iterator[None]:
        """Run one call to ``service`` or raise a ``ServiceUnavailable`` at once.

        ``count_consumers`` asks the broker how many consumers the service's RPC
        queue has (0 when there is no queue, None when it cannot tell).
        """
        state = self._state(service)
        self._check_consumers(service, state, count_consumers)
        probing = self._pass_breaker(service, state)
        try:
            with self._slots(service, state):
                try:
                    yield
                except ServiceDown as down:
                    self.saw_consumers(service, 0)
                    down.extra.setdefault("retry_after", self._down_retry_after())
                    raise
                except ServiceTimeout:
                    self._timed_out(service, state)
                    raise
                except (ServiceUnavailable, OSError):
                    raise  # the broker, not the service: no verdict on it
                except GuichetError:
                    self._replied(service, state)  # a refusal the service sent is an answer
                    raise
                self._replied(service, state)
        finally:
            if probing:
                self._end_probe(service, state)

    def saw_consumers(self, service: str, consumers: int) -> None:
        state = self._state(service)
        with state.lock:
            before, state.has_consumer = state.has_consumer, consumers > 0
            state.checked_at = self.clock()
        if before is not None and before != state.has_consumer:
            if state.has_consumer:
                log.warning("service consuming its calls again", extra={"fields": {"service": service}})
            else:
                log.warning("service has no consumer: its calls fail at once", extra={"fields": {"service": service}})

    def status(self, service: str) -> dict:
        """What the guard knows of ``service`` (for readiness reports and tests)."""
        state = self._state(service)
        with state.lock:
            return {"has_consumer": state.has_consumer, "consecutive_timeouts": state.timeouts,
                    "breaker": self._breaker_status(state), "in_flight": state.in_flight}

    def _breaker_status(self, state: _ServiceState) -> str:
        if state.open_until is None:
            return "closed"
        return "half-open" if state.probing or self.clock() >= state.open_until else "open"

    # --- the three protections ---------------------------------------------------------------------

    def _check_consumers(self, service: str, state: _ServiceState, count_consumers: Callable[[], int | None]):
        with state.lock:
            stale = self.clock() - state.checked_at >= self.settings.check_interval
            # While one thread checks, the others keep the last verdict; with none yet, each checks for itself.
            check = stale and (not state.checking or state.has_consumer is None)
            state.checking = state.checking or check
        if check:
            try:
                consumers = count_consumers()
            finally:
                with state.lock:
                    state.checking = False
            if consumers is not None:
                self.saw_consumers(service, consumers)
        if state.has_consumer is False:
            raise ServiceDown(retry_after=self._down_retry_after())

    def _down_retry_after(self) -> int:
        return _seconds(self.settings.breaker_seconds)

    def _pass_breaker(self, service: str, state: _ServiceState) -> bool:
        """True when this call is the one probing a half-open breaker."""
        if state.open_until is None:
            return False
        with state.lock:
            if state.open_until is None:
                return False
            now = self.clock()
            if now < state.open_until or state.probing:
                raise CircuitOpen(retry_after=_seconds(max(state.open_until - now, self.settings.busy_retry_after)))
            state.probing = True
            return True

    @contextmanager
    def _slots(self, service: str, state: _ServiceState) -> Iterator[None]:
        taken = []
        deadline = self.clock() + self.settings.slot_wait
        try:
            for slots in (state.slots, self._all_slots):
                if slots is None:
                    continue
                if not slots.acquire(timeout=max(0.0, deadline - self.clock())):
                    log.info("call refused, bulkhead full", extra={"fields": {"service": service}})
                    raise ServiceBusy(retry_after=self.settings.busy_retry_after)
                taken.append(slots)
            with state.lock:
                state.in_flight += 1
            try:
                yield
            finally:
                with state.lock:
                    state.in_flight -= 1
        finally:
            for slots in taken:
                slots.release()

    # --- what the outcome of a call tells ----------------------------------------------------------

    def _replied(self, service: str, state: _ServiceState) -> None:
        closed = False
        with state.lock:
            state.timeouts = 0
            state.has_consumer, state.checked_at = True, self.clock()
            if state.open_until is not None:
                state.open_until, closed = None, True
        if closed:
            log.warning("service answers again, circuit breaker closed", extra={"fields": {"service": service}})

    def _timed_out(self, service: str, state: _ServiceState) -> None:
        threshold = self.settings.breaker_timeouts
        opened = False
        with state.lock:
            state.timeouts += 1
            if threshold and state.timeouts >= threshold and (state.open_until is None or state.probing):
                opened = state.open_until is None
                state.open_until = self.clock() + self.settings.breaker_seconds
        if opened:
            log.warning("service keeps timing out, circuit breaker open: its calls fail at once",
                        extra={"fields": {"service": service, "timeouts": state.timeouts,
                                          "open_seconds": self.settings.breaker_seconds}})

    def _end_probe(self, service: str, state: _ServiceState) -> None:
        # A reply closed the breaker, a timeout opened it again; anything else (the broker) lets the next call
        # probe.
        with state.lock:
            state.probing = False
