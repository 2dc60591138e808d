"""Prometheus metrics of a service process: RPC latency, handler outcomes, outbox backlog, DLQ depth."""
from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily

log = logging.getLogger(__name__)

RPC_LATENCY = Histogram("guichet_rpc_seconds", "Time to serve one RPC", ["service", "method", "outcome"],
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
HANDLER_OUTCOMES = Counter("guichet_handler_messages", "Events and commands handled, by outcome",
                           ["service", "handler", "outcome"])
DUPLICATES = Counter("guichet_handler_duplicates", "Redelivered messages skipped thanks to the inbox",
                     ["service", "handler"])


class _BacklogCollector:
    """Reads the outbox backlog and DLQ depth when Prometheus scrapes, not on a timer."""

    def __init__(self):
        self.databases = []
        self.dlq_probe = None  # callable returning {queue: depth}

    def collect(self):
        backlog = GaugeMetricFamily("guichet_outbox_backlog", "Outbox messages not yet published", labels=["service"])
        for database in self.databases:
            try:
                backlog.add_metric([database.service], database.outbox_backlog())
            except Exception:  # a scrape must not fail because the database blinks
                log.warning("outbox backlog unavailable", extra={"fields": {"service": database.service}})
        yield backlog
        if self.dlq_probe is not None:
            depth = GaugeMetricFamily("guichet_dlq_depth", "Messages waiting in the dead-letter queue", labels=["queue"])
            try:
                for queue, count in self.dlq_probe().items():
                    depth.add_metric([queue], count)
            except Exception:
                log.warning("dead-letter queue depth unavailable")
            yield depth


_collector = _BacklogCollector()
REGISTRY.register(_collector)


def register_database(database) -> None:
    _collector.databases.append(database)


def register_dlq_probe(probe) -> None:
    _collector.dlq_probe = probe


def serve(port: int, addr: str = "127.0.0.1", health=None) -> None:
    """Serve /metrics and, when ``health`` is given, /healthz: this very process's own health
    (its database, its migrations), for orchestrator probes that must not be answered by another replica."""
    if not port:
        return
    if health is None:
        start_http_server(port, addr=addr)
        return
    import json
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app

    metrics_app = make_wsgi_app()

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            report = health()
            status = "200 OK" if report.get("status") == "ok" else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(report).encode()]
        return metrics_app(environ, start_response)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, *_args):  # probes every few seconds: no access log
            pass

    server = make_server(addr, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-http").start()
