"""Readiness: can the gateway serve? The broker answers and every service's ``health`` RPC says ok.

All checks run at the same time on a small thread pool, each with a short
timeout, so one stuck service costs the probe ``timeout`` seconds, not
``timeout`` times the number of services. The pool's threads keep their RPC
connection between probes (the RPC client is thread-local).
"""
from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import pika

from guichet_common import amqp
from guichet_common.errors import GuichetError
from guichet_common.rpc_client import RemoteError

log = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
# Extra time, past the RPC timeout, before a check that did not come back is declared down.
GRACE_SECONDS = 0.5


def broker_probe_for(rpc_client, timeout: float) -> Callable[[], None] | None:
    """How to check the broker: the RPC client's own ``ping`` if it has one, else a short-lived connection."""
    ping = getattr(rpc_client, "ping", None)
    if callable(ping):
        return ping
    amqp_uri = getattr(rpc_client, "amqp_uri", None)
    if amqp_uri is None:
        return None

    def connect_and_close() -> None:
        parameters = amqp.parameters(amqp_uri, heartbeat=0, name="guichet-gateway-ready")
        parameters.socket_timeout = parameters.stack_timeout = parameters.blocked_connection_timeout = timeout
        pika.BlockingConnection(parameters).close()

    return connect_and_close


class ReadinessChecker:
    def __init__(self, rpc_client, services: tuple[str, ...], timeout: float,
                 broker_probe: Callable[[], None] | None = None):
        self.rpc_client = rpc_client
        self.services = tuple(services)
        self.timeout = timeout
        self.broker_probe = broker_probe
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid: int | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        # Threads do not survive fork: a pool made before gunicorn forked is replaced.
        with self._lock:
            if self._executor is None or self._executor_pid != os.getpid():
                self._executor = ThreadPoolExecutor(max_workers=len(self.services) + 1,
                                                    thread_name_prefix="guichet-ready")
                self._executor_pid = os.getpid()
            return self._executor

    def check(self) -> dict:
        """{"ready": bool, "broker": {...}, "services": {name: {...}}, "down": [names]}."""
        pool = self._pool()

        def submit(function, *args):
            # Each check runs in a copy of the request's context: its RPC carries the request id.
            return pool.submit(contextvars.copy_context().run, function, *args)

        futures = {name: submit(self._service_health, name) for name in self.services}
        if self.broker_probe is not None:
            futures["broker"] = submit(self._broker_status)
        done, _ = wait(futures.values(), timeout=self.timeout + GRACE_SECONDS)
        results = {}
        for name, future in futures.items():
            if future in done:
                results[name] = future.result()
            else:
                future.cancel()
                results[name] = {"status": DOWN, "reason": "timeout"}
        broker = results.pop("broker", None)
        down = ([] if broker is None or broker["status"] == OK else ["broker"]) + \
            [name for name in self.services if results[name]["status"] != OK]
        report = {"ready": not down, "services": results, "down": down}
        if broker is not None:
            report["broker"] = broker
        return report

    def _broker_status(self) -> dict:
        started = time.monotonic()
        probe = self.broker_probe
        try:
            if probe is None:
                raise RuntimeError("no broker probe")
            probe()
        except Exception as error:  # a probe must answer whatever the failure (refused, TLS, bad URI...)
            return {"status": DOWN, "reason": type(error).__name__}
        return {"status": OK, "latency_ms": _milliseconds_since(started)}

    def _service_health(self, service: str) -> dict:
        started = time.monotonic()
        try:
            report = self.rpc_client.call(service, "health", timeout=self.timeout)
        except GuichetError as error:
            # The RPC guard's refusals say why (no-consumer, circuit-open, busy); else the problem's slug.
            return {"status": DOWN, "reason": getattr(error, "reason", error.slug)}
        except RemoteError:
            return {"status": DOWN, "reason": "error"}
        except Exception:  # a probe must answer whatever happens in a check
            log.exception("readiness check failed", extra={"fields": {"service": service}})
            return {"status": DOWN, "reason": "error"}
        # Only the verdict: the full health report (database, backlog) stays internal.
        status = report.get("status", DOWN) if isinstance(report, dict) else DOWN
        return {"status": status, "latency_ms": _milliseconds_since(started)}


def _milliseconds_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
