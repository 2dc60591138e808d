"""Gateway settings: the suite's common settings plus the variables only the gateway reads.

Read once at start-up and validated, so a typo in a rate limit or a number
stops the process with a message naming the variable instead of failing on
the first request.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from limits import parse_many

from guichet_common.config import SERVICES, load_settings

# name -> (default, description), same shape as guichet_common.config.VARIABLES.
GATEWAY_VARIABLES: dict[str, tuple[str, str]] = {
    "GUICHET_RATELIMIT_STORAGE_URI": (
        "memory://", "Rate-limit counts store (limits storage URI). memory:// counts per worker process; "
                     "use redis://host:6379 to share the counts between workers and pods."),
    "GUICHET_RATELIMIT_DEFAULT": (
        "600/minute", "Default rate limit per client address on every route (limits syntax, ';' separated)."),
    "GUICHET_GATEWAY_READY_TIMEOUT": ("2", "Seconds /api/ready waits for the broker and each service's health."),
    "GUICHET_GATEWAY_TRUSTED_PROXIES": (
        "0", "Number of reverse proxies in front of the gateway whose X-Forwarded-For is trusted."),
    "GUICHET_GATEWAY_MAX_BODY_BYTES": ("10485760", "Largest request body accepted (413 above)."),
    "GUICHET_GATEWAY_THREADS": ("8", "Threads per gateway worker (gthread): sizes the RPC bulkheads too."),
    "GUICHET_GATEWAY_SERVICE_SHARE": (
        "0.5", "Largest share of a worker's threads that calls to one service may hold at once (bulkhead); "
               "past it a call answers 503 at once. RPC calls in all keep one thread free."),
    "GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL": (
        "1", "Seconds between two checks that a service's RPC queue has a consumer; a call to a service "
             "without one answers 503 at once."),
    "GUICHET_GATEWAY_BREAKER_TIMEOUTS": (
        "3", "Consecutive timeouts of one service that open its circuit breaker (its calls answer 503 at "
             "once); 0 disables the breaker."),
    "GUICHET_GATEWAY_BREAKER_SECONDS": (
        "5", "Seconds a breaker stays open before one call probes the service again; also the Retry-After "
             "answered for a service that is down."),
}


class SettingsError(ValueError):
    """A configuration variable has a value the gateway cannot use."""


@dataclass(frozen=True)
class GatewaySettings:
    amqp_uri: str
    rpc_timeout: float
    log_level: str
    ratelimit_storage_uri: str = "memory://"
    ratelimit_default: str = "600/minute"
    ready_timeout: float = 2.0
    trusted_proxies: int = 0
    max_body_bytes: int = 10 * 1024 * 1024
    threads: int = 8
    service_share: float = 0.5
    service_check_interval: float = 1.0
    breaker_timeouts: int = 3
    breaker_seconds: float = 5.0
    services: tuple[str, ...] = SERVICES
    # The access-token contract with the accounts service (not deployment choices).
    token_issuer: str = "guichet-accounts"
    token_audience: str = "guichet"
    token_leeway_seconds: int = 10
    jwks_max_age_seconds: float = 600.0
    jwks_min_refresh_interval_seconds: float = 30.0

    @classmethod
    def from_env(cls, environ=None) -> "GatewaySettings":
        environ = os.environ if environ is None else environ
        common = load_settings(environ)

        def read(name: str) -> str:
            return environ.get(name, GATEWAY_VARIABLES[name][0]).strip()

        settings = cls(
            amqp_uri=common.amqp_uri,
            rpc_timeout=common.rpc_timeout,
            log_level=common.log_level,
            ratelimit_storage_uri=read("GUICHET_RATELIMIT_STORAGE_URI"),
            ratelimit_default=read("GUICHET_RATELIMIT_DEFAULT"),
            ready_timeout=_number("GUICHET_GATEWAY_READY_TIMEOUT", read("GUICHET_GATEWAY_READY_TIMEOUT"), float),
            trusted_proxies=_number("GUICHET_GATEWAY_TRUSTED_PROXIES", read("GUICHET_GATEWAY_TRUSTED_PROXIES"), int),
            max_body_bytes=_number("GUICHET_GATEWAY_MAX_BODY_BYTES", read("GUICHET_GATEWAY_MAX_BODY_BYTES"), int),
            **{field: _number(name, read(name), kind) for field, (name, kind) in _GUARD_VARIABLES.items()},
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            parse_many(self.ratelimit_default)
        except ValueError as error:
            raise SettingsError(f"GUICHET_RATELIMIT_DEFAULT={self.ratelimit_default!r} is not a rate limit "
                                f"such as '600/minute': {error}") from None
        if "://" not in self.ratelimit_storage_uri:
            raise SettingsError(f"GUICHET_RATELIMIT_STORAGE_URI={self.ratelimit_storage_uri!r} is not a storage "
                                "URI such as 'memory://' or 'redis://host:6379'")
        if self.rpc_timeout <= 0 or self.ready_timeout <= 0:
            raise SettingsError("GUICHET_RPC_TIMEOUT and GUICHET_GATEWAY_READY_TIMEOUT must be positive")
        if self.trusted_proxies < 0 or self.max_body_bytes <= 0:
            raise SettingsError("GUICHET_GATEWAY_TRUSTED_PROXIES must be >= 0 and "
                                "GUICHET_GATEWAY_MAX_BODY_BYTES > 0")
        if self.threads < 1 or not 0 < self.service_share <= 1:
            raise SettingsError("GUICHET_GATEWAY_THREADS must be >= 1 and GUICHET_GATEWAY_SERVICE_SHARE "
                                "between 0 (excluded) and 1")
        if self.service_check_interval < 0 or self.breaker_timeouts < 0 or self.breaker_seconds <= 0:
            raise SettingsError("GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL and GUICHET_GATEWAY_BREAKER_TIMEOUTS must "
                                "be >= 0 and GUICHET_GATEWAY_BREAKER_SECONDS > 0")


# GatewaySettings field -> (variable, type): how the gateway guards its RPC calls (guichet_common.rpc_guard).
_GUARD_VARIABLES = {
    "threads": ("GUICHET_GATEWAY_THREADS", int),
    "service_share": ("GUICHET_GATEWAY_SERVICE_SHARE", float),
    "service_check_interval": ("GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL", float),
    "breaker_timeouts": ("GUICHET_GATEWAY_BREAKER_TIMEOUTS", int),
    "breaker_seconds": ("GUICHET_GATEWAY_BREAKER_SECONDS", float),
}


def _number(name: str, raw: str, kind):
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
