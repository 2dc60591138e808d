"""The gateway's blueprints and where they are mounted.

A domain blueprint (accounts, demarches...) lives in its own module here,
uses ``guichet_gateway.api.Blueprint`` with a url_prefix relative to /api/v1
(e.g. ``Blueprint("accounts", __name__, url_prefix="/me")``) and is added to
``V1_BLUEPRINTS``.
"""
from __future__ import annotations

from . import accounts, agents, index, me, notifications, system, wellknown

API_V1 = "/api/v1"

V1_BLUEPRINTS = [index.blp, accounts.blp, notifications.blp]
# accounts.blp also carries the routes of these modules (one OpenAPI tag, one endpoint namespace).
ACCOUNTS_ROUTE_MODULES = (accounts, me, agents)


def register_blueprints(app, api, limiter) -> None:
    # Probes are called every few seconds by the orchestrator and Prometheus: never rate limited.
    limiter.exempt(system.blp)
    api.register_blueprint(system.blp)
    api.register_blueprint(wellknown.blp)  # /.well-known/jwks.json: at the root, as RFC 8615 puts well-known URIs
    for blueprint in V1_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=API_V1 + (blueprint.url_prefix or ""))
