"""Rate limiting per client address, answered as a French 429 problem.

Built directly on ``limits`` (the library under Flask-Limiter, same
maintainers): Flask-Limiter's per-request machinery (limit resolution,
exemption scopes, header injection) cost ~0.4 ms of gateway CPU per request,
about 40 % of all the gateway's own work on a cached read (bench/). Here a
request costs one counter hit and one window read per limit.

``limiter`` is module-level so domain routes can tighten their own limit at
import time::

    from guichet_gateway.ratelimit import limiter

    @blp.route("/auth/login", methods=["POST"])
    @limiter.limit("5/minute")          # replaces the default limit on this route
    @blp.arguments(LoginSchema)
    def login(payload): ...

The check runs before the view (a before_request hook), so refused and
malformed attempts count too. Each route has its own counter per client:
the default limit (GUICHET_RATELIMIT_DEFAULT, read from each app's
settings) on every route and on unknown paths, or the route's own limits.
Exempt blueprints (the probes) are never counted.

Answers carry ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (epoch
seconds) for the limit closest to exhaustion, and a 429 carries
``Retry-After``. The counts live in GUICHET_RATELIMIT_STORAGE_URI:
``memory://`` counts per worker process (a client may get workers × limit);
production with several workers or pods should use a shared store such as
Redis. A store outage lets requests through (logged): the portal must not go
down with its rate-limit store. Client addresses come from
``request.remote_addr``, i.e. from the trusted proxies' X-Forwarded-For when
GUICHET_GATEWAY_TRUSTED_PROXIES is set.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from guichet_common.errors import TooManyRequests

from .settings import GatewaySettings

log = logging.getLogger(__name__)

EXTENSION = "guichet-ratelimit"
KEY_PREFIX = "guichet-gateway"
_LIMITS_ATTRIBUTE = "_guichet_rate_limits"


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage, its expired keys swept every few seconds by one thread per process.

    The stock storage starts a new ``threading.Timer`` 10 ms after each hit once the previous one
    has run: under load, a thread created and destroyed about a hundred times a second per worker
    (~0.3 ms of CPU per request measured). Counts are unaffected: an expired counter is already
    dropped when it is read; the sweep only frees the memory of clients that went away.
    """

    SWEEP_INTERVAL = 10.0
    _live: weakref.WeakSet = weakref.WeakSet()
    _sweeper: threading.Thread | None = None
    _sweeper_lock = threading.Lock()

    def __init__(self):
        super().__init__()
        self._live.add(self)
        with self._sweeper_lock:
            if SweptMemoryStorage._sweeper is None or not SweptMemoryStorage._sweeper.is_alive():
                SweptMemoryStorage._sweeper = threading.Thread(target=self._sweep_forever, name="ratelimit-sweeper",
                                                               daemon=True)
                SweptMemoryStorage._sweeper.start()

    # MemoryStorage calls this (name-mangled there) on each hit to restart its timer: nothing to do here.
    def _MemoryStorage__schedule_expiry(self) -> None:
        pass

    def sweep(self) -> None:
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # name-mangled in MemoryStorage

    @classmethod
    def _sweep_forever(cls) -> None:
        while True:
            time.sleep(cls.SWEEP_INTERVAL)
            for storage in list(cls._live):
                storage.sweep()


def storage_for(uri: str) -> Storage:
    if uri.split("://", 1)[0] == "memory":
        return SweptMemoryStorage()
    storage = storage_from_string(uri, wrap_exceptions=True)
    if not isinstance(storage, Storage):
        raise ValueError(f"rate-limit storage {uri.split('://', 1)[0]!r} is asynchronous; the gateway needs a sync one")
    return storage


@dataclass
class _AppLimits:
    strategy: SlidingWindowCounterRateLimiter
    defaults: tuple[RateLimitItem, ...]


class RateLimiter:
    def __init__(self, key_prefix: str = KEY_PREFIX):
        self.key_prefix = key_prefix
        self._exempt_blueprints: set[str] = set()

    def limit(self, spec: str):
        """This route's own limits (``"10/minute"``, ``"100/hour;10/minute"``), instead of the default."""
        items = tuple(parse_many(spec))

        def decorator(view):
            setattr(view, _LIMITS_ATTRIBUTE, items)
            return view

        return decorator

    def exempt(self, blueprint) -> None:
        self._exempt_blueprints.add(blueprint.name)

    def init_app(self, app: Flask, settings: GatewaySettings) -> None:
        storage = storage_for(settings.ratelimit_storage_uri)
        # Sliding-window counter: no double burst at a fixed window's edge, and O(1) per request
        # (a moving window keeps every hit's timestamp and slows down as a client's count grows).
        app.extensions[EXTENSION] = _AppLimits(SlidingWindowCounterRateLimiter(storage),
                                               tuple(parse_many(settings.ratelimit_default)))
        app.before_request(self._check)
        app.after_request(self._add_headers)

    def _route_limits(self) -> tuple[RateLimitItem, ...] | None:
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        view_class = getattr(view, "view_class", None)
        if view_class is not None:  # a MethodView: the limits sit on the method's function
            view = getattr(view_class, request.method.lower(), None)
        return getattr(view, _LIMITS_ATTRIBUTE, None)

    def _check(self) -> None:
        if request.blueprint in self._exempt_blueprints:
            return
        state: _AppLimits = current_app.extensions[EXTENSION]
        items = self._route_limits() or state.defaults
        identifiers = (self.key_prefix, request.remote_addr or "-", request.endpoint or "-")
        closest, refused = None, False
        try:
            for item in items:
                refused = not state.strategy.hit(item, *identifiers)
                stats = state.strategy.get_window_stats(item, *identifiers)
                if closest is None or refused or stats.remaining < closest[1].remaining:
                    closest = (item, stats)
                if refused:
                    break
        except StorageError as error:
            log.warning("rate-limit store unreachable, request let through",
                        extra={"fields": {"error": type(error).__name__}})
            return
        g.guichet_rate_limit = closest
        if refused:
            raise TooManyRequests()

    @staticmethod
    def _add_headers(response):
        closest = g.pop("guichet_rate_limit", None)
        if closest is None:
            return response
        item, stats = closest
        response.headers["X-RateLimit-Limit"] = str(item.amount)
        response.headers["X-RateLimit-Remaining"] = str(max(stats.remaining, 0))
        response.headers["X-RateLimit-Reset"] = str(math.ceil(stats.reset_time))
        if response.status_code == 429:
            # A service's lock-out may already have said when to come back: keep the later of the two.
            ours = max(1, math.ceil(stats.reset_time - time.time()))
            theirs = response.headers.get("Retry-After", "")
            response.headers["Retry-After"] = str(max(ours, int(theirs)) if theirs.isdigit() else ours)
        return response


limiter = RateLimiter()


def init_app(app: Flask, settings: GatewaySettings) -> RateLimiter:
    limiter.init_app(app, settings)
    return limiter
