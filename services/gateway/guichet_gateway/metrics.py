"""Prometheus metrics of the gateway: requests by route and status, and their latency.

Under gunicorn every worker process counts its own requests. When
``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn_conf.py sets it up), each worker
writes its values to files there and ``/api/metrics`` adds up all workers,
whichever worker answers the scrape; prometheus_client picks that mode when
this module is imported, so the variable must be set before the workers start.
Without it, ``/api/metrics`` shows the numbers of the answering process only.
"""
from __future__ import annotations

import os
import time

from flask import Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests that match no route are counted under one label: raw paths would be unbounded label values.
UNMATCHED_ROUTE = "<unmatched>"

REQUESTS = Counter("guichet_gateway_requests", "HTTP requests answered by the gateway",
                   ["method", "route", "status"])
LATENCY = Histogram("guichet_gateway_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def _start_timer() -> None:
    g.guichet_started = time.perf_counter()


def _record(response):
    started = g.pop("guichet_started", None)
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def init_app(app) -> None:
    """Registered before any other hook so requests refused early (429, 415) are timed too."""
    app.before_request(_start_timer)
    app.after_request(_record)


def exposition() -> Response:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
