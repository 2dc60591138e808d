"""``Chassis``: correlation ids, caller identity, metrics and one log line for every worker."""
from __future__ import annotations

import logging
import time

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from .. import context, metrics
from ..auth import Caller
from .rpc_entrypoint import CALLER_ERRORS, GuichetRpc

log = logging.getLogger(__name__)


def _entrypoint_kind(entrypoint) -> str:
    if isinstance(entrypoint, GuichetRpc):
        return "rpc"
    return "timer" if isinstance(entrypoint, Timer) else "message"


class Chassis(DependencyProvider):
    """Binds correlation ids for logs and outbox, times workers, exposes the caller."""

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        context.correlation_id.set(data.get("correlation_id") or worker_ctx.call_id)
        context.causation_id.set(data.get("causation_id") or data.get("request_id"))
        worker_ctx.guichet_started = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = getattr(worker_ctx, "guichet_started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        entrypoint = worker_ctx.entrypoint
        name = entrypoint.method_name
        if exc_info is None:
            outcome = "ok"
        else:
            outcome = "refused" if isinstance(exc_info[1], CALLER_ERRORS) else "error"
        if isinstance(entrypoint, GuichetRpc):
            metrics.RPC_LATENCY.labels(self.container.service_name, name, outcome).observe(elapsed)
        # One line per worker, like an access log: ids and timings only, never arguments.
        fields = {"entrypoint": name, "kind": _entrypoint_kind(entrypoint),
                  "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)}
        if worker_ctx.data.get("message_id"):
            fields["message_id"] = worker_ctx.data["message_id"]
        if outcome == "error":
            log.error("worker failed", exc_info=exc_info, extra={"fields": fields})
        else:
            log.info("worker done", extra={"fields": fields})

    def get_dependency(self, worker_ctx):
        return Caller.from_header(worker_ctx.data.get("caller"))
