"""X-Request-ID: taken from the client or a proxy when sane, generated otherwise.

Done as WSGI middleware rather than Flask hooks so that the id is bound as the
correlation id (carried in every RPC header and log line) for the whole
request, and echoed on every response, including the ones Flask builds for
errors raised before any view runs.
"""
from __future__ import annotations

import re
import uuid

from flask import has_request_context, request

from guichet_common import context

HEADER = "X-Request-ID"
ENVIRON_KEY = "guichet.request_id"
# Anything else (too long, spaces, quotes, newlines) could forge log lines or headers: replaced.
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def accept_or_generate(incoming: str | None) -> str:
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    if has_request_context():
        return request.environ.get(ENVIRON_KEY)
    return context.current_correlation_id()


class RequestIdMiddleware:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = accept_or_generate(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id

        def start_with_request_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != HEADER.lower()]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        # Flask builds the whole (non-streamed) response inside this block, RPC calls included.
        with context.bound(request_id):
            return self.wsgi_app(environ, start_with_request_id)
