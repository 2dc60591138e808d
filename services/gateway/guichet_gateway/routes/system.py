"""Probes and metrics: liveness, readiness, Prometheus. Outside /api/v1 and never rate limited.

/api/ready and /api/metrics tell about the inside of the suite: the ingress
should serve them to the cluster only, not to the Internet.
"""
from __future__ import annotations

import flask
from flask import current_app
from marshmallow import fields

from guichet_contracts.fields import FrenchSchema

from .. import metrics
from ..api import Blueprint
from ..problems import problem_response
from ..schemas import ProblemSchema
from ..state import EXTENSION

blp = Blueprint("system", __name__, url_prefix="/api", description="Sondes de disponibilité du portail")
metrics_blp = flask.Blueprint("metrics", __name__, url_prefix="/api")


class LivenessSchema(FrenchSchema):
    status = fields.String(metadata={"example": "ok"})


class ComponentSchema(FrenchSchema):
    status = fields.String(metadata={"description": "ok, down, or the status the service reported"})
    latency_ms = fields.Float()
    reason = fields.String(metadata={"description": "Why the component is down"})


class ReadinessSchema(FrenchSchema):
    status = fields.String(metadata={"example": "ok"})
    broker = fields.Nested(ComponentSchema)
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema))
    down = fields.List(fields.String())


class NotReadySchema(ProblemSchema):
    broker = fields.Nested(ComponentSchema)
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema))
    down = fields.List(fields.String(), metadata={"description": "Components that are not ok"})


@blp.route("/health")
@blp.response(200, LivenessSchema)
def health():
    """Liveness: the process answers (neither the broker nor the services are contacted)."""
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, schema=NotReadySchema, content_type="application/problem+json",
                  description="Un composant au moins est indisponible")
def ready():
    """Readiness: the broker is reachable and every service answers its health check."""
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


@metrics_blp.route("/metrics")
def prometheus_metrics():
    return metrics.exposition()
