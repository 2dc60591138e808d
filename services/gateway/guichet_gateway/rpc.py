"""The gateway's one RPC client per process, and how views reach it.

``RpcClient`` keeps one AMQP connection per thread, opened on a thread's
first call and reused afterwards: no connection set-up per request. It is
created by ``create_app`` in each gunicorn worker (the app is not preloaded
in the master), so no connection crosses a fork.
"""
from __future__ import annotations

from flask import current_app

from guichet_common.rpc_client import RpcClient

from .settings import GatewaySettings
from .state import EXTENSION


def make_rpc_client(settings: GatewaySettings) -> RpcClient:
    return RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout, name="guichet-gateway")


def rpc_client():
    """The process's RPC client: ``rpc_client().call("accounts", "method", ..., caller=caller)``."""
    return current_app.extensions[EXTENSION].rpc_client
