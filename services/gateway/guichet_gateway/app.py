"""The gateway's Flask application factory."""
from __future__ import annotations

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from . import docs, metrics, proxy_check, ratelimit
from .api import GuichetApi, require_json_body
from .problems import register_error_handlers
from .readiness import ReadinessChecker, broker_probe_for
from .request_id import RequestIdMiddleware
from .routes import register_blueprints
from .rpc import make_rpc_client
from .settings import GatewaySettings
from .state import EXTENSION, GatewayState
from .tokens import KeySet, TokenVerifier

API_DESCRIPTION = (
    "API du portail citoyen Guichet. Les erreurs sont des documents RFC 9457 "
    "(application/problem+json) dont le champ `type` est stable et le champ `detail` en français.")


class FrenchJSONProvider(DefaultJSONProvider):
    ensure_ascii = False  # French text as UTF-8, not \u escapes
    sort_keys = False


def create_app(settings: GatewaySettings | None = None, rpc_client=None) -> Flask:
    """Build a gateway app; ``rpc_client`` replaces the real RPC client (tests)."""
    settings = settings or GatewaySettings.from_env()
    app = Flask("guichet_gateway")
    app.config.update(
        API_TITLE="Guichet",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        # /api/docs is guichet_gateway.docs' page: Swagger UI served by the gateway itself, not from a CDN.
        OPENAPI_SWAGGER_UI_PATH=None,
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION,
                                   "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}}},
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.json = FrenchJSONProvider(app)

    rpc_client = rpc_client if rpc_client is not None else make_rpc_client(settings)
    app.extensions[EXTENSION] = GatewayState(
        settings=settings,
        rpc_client=rpc_client,
        token_verifier=_token_verifier(settings, rpc_client),
        readiness=ReadinessChecker(rpc_client, settings.services, min(settings.ready_timeout, settings.rpc_timeout),
                                   broker_probe_for(rpc_client, settings.ready_timeout)),
    )

    # Hook order matters: timing first, then the rate limit, then the body check.
    metrics.init_app(app)
    limiter = ratelimit.init_app(app, settings)
    app.before_request(require_json_body)
    app.after_request(_protective_headers)

    api = GuichetApi(app)
    register_error_handlers(app)
    register_blueprints(app, api, limiter)
    app.register_blueprint(docs.blp)

    proxy_check.init_app(app, settings.trusted_proxies)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _token_verifier(settings: GatewaySettings, rpc_client) -> TokenVerifier:
    keys = KeySet(lambda: rpc_client.call("accounts", "public_keys"),
                  max_age=settings.jwks_max_age_seconds,
                  min_refresh_interval=settings.jwks_min_refresh_interval_seconds)
    return TokenVerifier(keys, issuer=settings.token_issuer, audience=settings.token_audience,
                         leeway=settings.token_leeway_seconds)


def _protective_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/api/v1"):
        # Answers hold personal data: no shared or browser cache unless a route says otherwise.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
