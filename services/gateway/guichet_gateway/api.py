"""flask-smorest wired the Guichet way: French validation, problem documents, JSON bodies only.

Domain blueprints use ``guichet_gateway.api.Blueprint`` (not flask-smorest's
own) so their argument errors are French 422 problems.
"""
from __future__ import annotations

import http

import flask_smorest
from flask import current_app, request
from flask_smorest.utils import prepare_response
from webargs.core import is_json
from webargs.flaskparser import FlaskParser

from guichet_common.errors import InvalidInput
from guichet_contracts.fields import FrenchSchema

from .problems import PROBLEM_MIMETYPE, InvalidJson, UnsupportedMediaType, flatten_validation_messages
from .schemas import ProblemSchema

BEARER_SCHEME = "bearerAuth"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class GuichetParser(FlaskParser):
    DEFAULT_SCHEMA_CLASS = FrenchSchema  # schemas webargs builds from a dict of fields

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise InvalidInput(errors=flatten_validation_messages(error.messages))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise InvalidJson() from error


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = GuichetParser()

    def problems(self, *statuses: int):
        """Documents the RFC 9457 problems a route answers, e.g. ``@blp.problems(401, 404, 422)``.

        Each refers to the registered ``application/problem+json`` response of its status
        (see ``GuichetApi._register_responses``), so every problem is described once."""
        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=http.HTTPStatus(status).name)(func)
            return func
        return decorator


class GuichetApi(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # Same as flask-smorest's, but documented as application/problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Erreur (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.spec.components.security_scheme(BEARER_SCHEME, {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "Jeton d'accès (EdDSA) délivré par le service des comptes."})

    def _register_error_handlers(self):
        """Errors are handled by ``problems.register_error_handlers``, not by flask-smorest's JSON handler."""


# --- request bodies ----------------------------------------------------------------

def _handler_of(view_func, method: str):
    view_class = getattr(view_func, "view_class", None)
    return getattr(view_class, method.lower(), None) if view_class is not None else view_func


def accepts_form_body(view_func, method: str) -> bool:
    """A view reading ``form`` or ``files`` arguments (uploads) also accepts form content types."""
    handler = _handler_of(view_func, method)
    parameters = getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(parameter.get("in") in ("form", "files", "json_or_form") for parameter in parameters)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def require_json_body() -> None:
    """before_request: a POST/PUT/PATCH body that is not JSON is a 415, not a confusing 422."""
    if request.method not in ("POST", "PUT", "PATCH") or request.routing_exception is not None or not _has_body():
        return
    if is_json(request.mimetype):
        return
    view_func = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.mimetype in _FORM_TYPES and view_func is not None and accepts_form_body(view_func, request.method):
        return
    raise UnsupportedMediaType()

