"""Rate limiting per client address (Flask-Limiter), answered as a French 429 problem.

``limiter`` is module-level so domain routes can tighten their own limit at
import time::

    from guichet_gateway.ratelimit import limiter

    @limiter.limit("5/minute")          # e.g. login; outermost, so refused attempts count too
    @blp.arguments(LoginSchema)
    def post(self, payload): ...

The default limit is read from the app's settings at request time (not
frozen in the shared instance), so each app, test apps included, applies its
own. The counts live in GUICHET_RATELIMIT_STORAGE_URI: ``memory://`` counts
per worker process (a client may get workers × limit); production with
several workers or pods should use a shared store such as Redis.
Client addresses come from ``request.remote_addr``, i.e. from the trusted
proxies' X-Forwarded-For when GUICHET_GATEWAY_TRUSTED_PROXIES is set.
"""
from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .settings import GatewaySettings

DEFAULT_LIMIT_KEY = "GUICHET_RATELIMIT_DEFAULT"


def _default_limit() -> str:
    return current_app.config[DEFAULT_LIMIT_KEY]


limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[_default_limit],
    # Sliding-window counter: no double burst at a fixed window's edge, and O(1) per request
    # (the moving window keeps every hit's timestamp and slows down as a client's count grows).
    strategy="sliding-window-counter",
    headers_enabled=True,  # X-RateLimit-* and, on a 429, Retry-After
    swallow_errors=True,  # a rate-limit store outage must not take the portal down with it
    key_prefix="guichet-gateway",
)


def init_app(app, settings: GatewaySettings) -> Limiter:
    app.config.update({
        DEFAULT_LIMIT_KEY: settings.ratelimit_default,
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_uri,
        # Set on every app: the shared instance would otherwise keep a previous app's value.
        "RATELIMIT_ENABLED": True,
    })
    limiter.init_app(app)
    return limiter
