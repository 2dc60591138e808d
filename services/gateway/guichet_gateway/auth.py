"""Who is calling: the bearer token of the request, verified once, as a ``Caller`` for the RPC calls.

Routes declare what they need; the caller is injected as the ``caller``
keyword argument, ready for ``rpc_client().call(..., caller=caller)``::

    @blp.route("/me/demandes")
    class MyRequests(MethodView):
        @require_citizen
        @blp.response(200, DemandeSchema(many=True))
        def get(self, caller):
            return rpc_client().call("demarches", "list_mine", caller=caller)

    @require_agent("instructeur")          # agents holding that role (or administrators)
    @require_agent()                       # any agent
    @require_authenticated                 # any signed-in caller

Placed above ``@blp.arguments`` the check runs before validation, so an
anonymous client gets 401, not the details of the expected payload.
A token is verified only when a route asks for the caller: a public route
works even if the client sends a stale token. A token that is sent to a route
that does look at it must be valid (401 otherwise), even on a public route
that only personalises its answer (``current_caller()``).
"""
from __future__ import annotations

import functools
from copy import deepcopy

from flask import current_app, g, request

from guichet_common.auth import Caller

from .api import BEARER_SCHEME
from .problems import InvalidToken
from .state import EXTENSION


def _authenticate() -> Caller:
    header = request.headers.get("Authorization")
    if not header:
        return Caller()
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken()
    return current_app.extensions[EXTENSION].token_verifier.verify(token)


def current_caller() -> Caller:
    """The caller of this request (anonymous without a token); raises a 401 problem for a bad token."""
    if "guichet_caller" not in g:
        g.guichet_caller = _authenticate()
    return g.guichet_caller


def _document(wrapper) -> None:
    """Declare the bearer token and the 401/403 answers in the OpenAPI document (as flask-smorest stores docs)."""
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual["security"] = [{BEARER_SCHEME: []}]
    responses = wrapper._apidoc.setdefault("response", {}).setdefault("responses", {})
    for status, name in ((401, "UNAUTHORIZED"), (403, "FORBIDDEN")):
        if name not in responses.setdefault(status, []):
            responses[status].append(name)


def _requiring(check):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            caller = current_caller()
            check(caller)
            kwargs["caller"] = caller
            return view(*args, **kwargs)

        _document(wrapper)
        return wrapper

    return decorator


def require_authenticated(view):
    return _requiring(Caller.require_authenticated)(view)


def require_citizen(view):
    return _requiring(lambda caller: caller.require_citizen())(view)


def require_agent(*roles: str):
    """An agent holding at least one of ``roles`` (any agent if none is given; administrators always)."""
    if len(roles) == 1 and callable(roles[0]):
        raise TypeError("write @require_agent() or @require_agent('role'), with parentheses")
    return _requiring(lambda caller: caller.require_agent(*roles))
