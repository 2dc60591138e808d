"""The gateway's one RPC client per process, and how views reach it.

``RpcClient`` keeps one AMQP connection per thread, opened on a thread's
first call and reused afterwards: no connection set-up per request. It is
created by ``create_app`` in each gunicorn worker (the app is not preloaded
in the master), so no connection crosses a fork.

Its guard (guichet_common.rpc_guard) keeps a dead or stuck service from
taking the worker's threads: a call to a service without consumer, or whose
breaker is open, or whose share of the threads is taken, answers 503 with
Retry-After at once, and RPC calls in all leave one thread free, so
/api/health and the routes of the other services keep answering.
"""
from __future__ import annotations

from flask import current_app

from guichet_common.rpc_client import RpcClient
from guichet_common.rpc_guard import GuardSettings, ServiceGuard

from .settings import GatewaySettings
from .state import EXTENSION

# A call finding its service's slots taken waits this long for one before its 503: under a heavy but healthy
# load a slot frees within milliseconds, while a stuck service's callers give up without holding a thread.
SLOT_WAIT_SECONDS = 0.1


def guard_settings(settings: GatewaySettings) -> GuardSettings:
    return GuardSettings(
        check_interval=settings.service_check_interval,
        max_calls_per_service=max(1, int(settings.threads * settings.service_share)),
        max_calls=max(1, settings.threads - 1),
        breaker_timeouts=settings.breaker_timeouts,
        breaker_seconds=settings.breaker_seconds,
        slot_wait=SLOT_WAIT_SECONDS,
    )


def make_rpc_client(settings: GatewaySettings) -> RpcClient:
    return RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout, name="guichet-gateway",
                     guard=ServiceGuard(guard_settings(settings)))


def rpc_client():
    """The process's RPC client: ``rpc_client().call("accounts", "method", ..., caller=caller)``."""
    return current_app.extensions[EXTENSION].rpc_client
