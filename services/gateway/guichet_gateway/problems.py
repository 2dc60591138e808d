"""Every error the gateway answers, as an RFC 9457 ``application/problem+json`` document.

Sources of errors and how they are shaped:
- ``GuichetError`` raised here or by a service (``RemoteProblem``, the RPC
  client's ``ServiceUnavailable``/``ServiceTimeout``): their own problem;
- werkzeug's HTTP errors (404, 405, 413, 415, 422 from webargs): the French problem of their status code;
- ``RemoteError`` and any other exception: a 500 whose text never leaves the
  gateway (it may hold personal data or internals), logged with the request id.
"""
from __future__ import annotations

import json
import logging

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from guichet_common.errors import (
    Conflict,
    Forbidden,
    GuichetError,
    InternalError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from guichet_common.rpc_client import RemoteError
from guichet_contracts.french_messages import translate

from .request_id import current_request_id

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class BadRequest(GuichetError):
    slug, status, title = "bad-request", 400, "Requête invalide"
    detail = "La requête est mal formée."


class InvalidJson(GuichetError):
    slug, status, title = "invalid-json", 400, "Requête invalide"
    detail = "Le contenu de la requête n'est pas un document JSON valide."


class InvalidToken(Unauthenticated):
    slug = "invalid-token"
    detail = "Votre jeton d'accès est invalide. Veuillez vous reconnecter."
    www_authenticate = 'Bearer error="invalid_token"'


class MethodNotAllowed(GuichetError):
    slug, status, title = "method-not-allowed", 405, "Méthode non autorisée"
    detail = "Cette méthode HTTP n'est pas autorisée pour cette adresse."


class NotAcceptable(GuichetError):
    slug, status, title = "not-acceptable", 406, "Format non disponible"
    detail = "Cette ressource n'est disponible qu'au format JSON."


class PayloadTooLarge(GuichetError):
    slug, status, title = "payload-too-large", 413, "Contenu trop volumineux"
    detail = "Le contenu envoyé dépasse la taille maximale autorisée."


class UnsupportedMediaType(GuichetError):
    slug, status, title = "unsupported-media-type", 415, "Format non pris en charge"
    detail = "Le contenu de la requête doit être au format JSON (Content-Type: application/json)."


class OtherHttpError(GuichetError):
    slug, title = "http-error", "Requête impossible"
    detail = "La requête n'a pas pu être traitée."


# werkzeug status code -> the problem answered for it.
HTTP_PROBLEMS: dict[int, type[GuichetError]] = {
    400: BadRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed,
    406: NotAcceptable, 409: Conflict, 413: PayloadTooLarge, 415: UnsupportedMediaType, 422: InvalidInput,
    429: TooManyRequests, 500: InternalError, 503: ServiceUnavailable,
}


def problem_response(problem: dict, headers: dict | None = None):
    body = dict(problem)
    body["instance"] = request.path  # a service cannot know which HTTP path called it
    body["request_id"] = current_request_id()
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=body.get("status") or 500,
                                           mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_validation_messages(messages) -> dict:
    """webargs files messages by location ({"json": {...}, "query": {...}}); clients want them by field.

    Field names of the body, the query string and the path do not overlap in
    this API, and a shared name gets both lists.
    """
    if not isinstance(messages, dict):
        return {"_schema": translate(messages if isinstance(messages, list) else [messages])}
    flat: dict = {}
    for location_messages in messages.values():
        if not isinstance(location_messages, dict):
            location_messages = {"_schema": location_messages}
        for field, field_messages in translate(location_messages).items():
            if field in flat and isinstance(flat[field], list) and isinstance(field_messages, list):
                flat[field] = flat[field] + field_messages
            else:
                flat[field] = field_messages
    return flat


def problem_for_http_exception(error: HTTPException) -> GuichetError:
    data: dict = getattr(error, "data", None) or {}
    cause = getattr(error, "exc", None)
    if error.code == 400 and isinstance(cause, (ValueError, UnicodeDecodeError)):
        return InvalidJson()  # webargs' "Invalid JSON body."
    problem_class = HTTP_PROBLEMS.get(error.code) if error.code is not None else None
    if problem_class is None:
        return OtherHttpError(status=error.code)
    if issubclass(problem_class, InvalidInput):
        messages = data.get("messages") or data.get("errors")
        return problem_class(errors=flatten_validation_messages(messages) if messages else None)
    return problem_class()


def _headers_for(error: GuichetError, source: HTTPException | None = None) -> dict:
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = getattr(error, "www_authenticate", "Bearer")
    retry_after = error.problem().get("retry_after")
    if error.status in (429, 503) and isinstance(retry_after, (int, float)) and retry_after > 0:
        # A service's lock-out (login throttling) tells clients when to come back, as RFC 9110 says.
        headers["Retry-After"] = str(int(-(-retry_after // 1)))
    if source is not None:
        # Allow (405)... but not werkzeug's Content-Type.
        headers.update({name: value for name, value in source.get_headers() if name.lower() != "content-type"})
    return headers


def handle_guichet_error(error: GuichetError):
    if error.status >= 500:
        log.warning("request failed", extra={"fields": {"problem": error.slug, "status": error.status}})
    return problem_response(error.problem(), _headers_for(error))


def handle_http_exception(error: HTTPException):
    problem = problem_for_http_exception(error)
    return problem_response(problem.problem(), _headers_for(problem, error))


def handle_remote_error(error: RemoteError):
    # The service logged the details under the same correlation id; its text stays out of the response.
    log.error("service failed unexpectedly", extra={"fields": {"exc_type": error.exc_type}})
    return problem_response(InternalError().problem())


def handle_unexpected_error(error: Exception):
    log.exception("unexpected gateway error")
    return problem_response(InternalError().problem())


def register_error_handlers(app) -> None:
    app.register_error_handler(GuichetError, handle_guichet_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RemoteError, handle_remote_error)
    app.register_error_handler(Exception, handle_unexpected_error)
