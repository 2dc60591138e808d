"""Probes and metrics: liveness, readiness, Prometheus. Outside /api/v1 and never rate limited.

/api/ready and /api/metrics tell about the inside of the suite: the ingress
should serve them to the cluster only, not to the Internet.
"""
from __future__ import annotations

from flask import current_app
from prometheus_client import CONTENT_TYPE_LATEST

from guichet_contracts.api.system import Liveness, Readiness

from .. import metrics
from ..api import Blueprint
from ..problems import problem_response
from ..state import EXTENSION

blp = Blueprint("system", __name__, url_prefix="/api", description="Sondes de disponibilité du portail")


@blp.route("/health")
@blp.response(200, Liveness)
def health():
    """Liveness: the process answers (neither the broker nor the services are contacted)."""
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, Readiness)
@blp.problems(503)
def ready():
    """Readiness: the broker is reachable and every service answers its health check.

    503 (``urn:guichet:problem:not-ready``) when a component is down: the problem names them in its
    ``broker``, ``services`` and ``down`` members."""
    report = current_app.extensions[EXTENSION].readiness.check()
    components = {key: report[key] for key in ("broker", "services", "down") if key in report}
    if report["ready"]:
        return {"status": "ok", **components}
    return problem_response({
        "type": "urn:guichet:problem:not-ready", "title": "Service indisponible", "status": 503,
        "detail": not_ready_detail(report["down"]), **components})


def not_ready_detail(down: list[str]) -> str:
    services = [name for name in down if name != "broker"]
    parts = []
    if "broker" in down:
        parts.append("la messagerie interne est injoignable")
    if services:
        parts.append(("le service indisponible est " if len(services) == 1 else "les services indisponibles sont ")
                     + ", ".join(services))
    return "Le portail n'est pas prêt : " + " et ".join(parts) + "."


@blp.route("/metrics")
@blp.response(200, {"type": "string"}, content_type=CONTENT_TYPE_LATEST.split(";")[0],
              description="Prometheus text exposition format")
def prometheus_metrics():
    """The gateway's Prometheus metrics: requests by route and status, and their latency."""
    return metrics.exposition()
