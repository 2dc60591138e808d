"""Accounts: the blueprint of every accounts route, and its public routes (captcha, registration, activation,
login and sessions, password recovery). The citizen's routes are in ``me.py``, the agents' in ``agents.py``.

The gateway checks the bodies with the accounts API contract's schemas (French 422 problems);
the accounts service applies the town's rules and the password policy, and decides who may do
what (a citizen reaches only their own household). The registration form and the changes of
« Mon compte » depend on the town's rules: the gateway documents them and the service checks
them, every problem in one answer.
"""
from __future__ import annotations

import base64
import os
from typing import Any

from flask import Response, jsonify, request, url_for

from guichet_contracts.api import accounts as api

from ..api import Blueprint
from ..auth import current_caller
from ..problems import InvalidJson
from ..ratelimit import limiter
from ..rpc import rpc_client

blp = Blueprint("accounts", __name__, url_prefix="", description="Comptes, connexion, profil et foyer")

# Tight limits per client address on what guesses secrets or sends mail (the service also throttles
# per login and per address, with a lock-out that does not tell whether the account exists).
# GUICHET_RATELIMIT_AUTH replaces them all (benchmarks; a town behind a shared NAT may raise them).
_AUTH_OVERRIDE = os.environ.get("GUICHET_RATELIMIT_AUTH")
LOGIN_LIMIT = _AUTH_OVERRIDE or "10/minute"
RECOVERY_LIMIT = _AUTH_OVERRIDE or "5/minute"
REGISTRATION_LIMIT = _AUTH_OVERRIDE or "20/hour"
TOKEN_LIMIT = _AUTH_OVERRIDE or "20/minute"
REFRESH_LIMIT = _AUTH_OVERRIDE or "60/minute"


def call_accounts(method, caller=None, timeout=None, **kwargs):
    return rpc_client().call("accounts", method, kwargs=kwargs, caller=caller, timeout=timeout)


def body_as_sent() -> Any:
    """The JSON body as the client sent it (checked by the route's schema, if any), for the service to load:
    what the gateway loaded may hold values JSON cannot carry (dates) and the service normalises again."""
    if not request.content_length:
        return {}
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidJson()
    return body


def documented_body(schema) -> Any:
    """Documents a JSON body that the service alone checks (with the town's rules, every problem at once)."""
    return blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": schema}}})


# --- captcha ---------------------------------------------------------------------

@blp.route("/captcha", methods=["GET"])
@limiter.limit(TOKEN_LIMIT)
@blp.response(200, api.Captcha)
@blp.problems(429)
def new_captcha():
    """A captcha: its id, a PNG image (data URI) and the URL of its audio alternative.

    Each answer is checked once (right or wrong) and the captcha expires after ``expires_in`` seconds.
    """
    challenge = call_accounts("new_captcha")
    return {**challenge, "audio_url": url_for("accounts.captcha_audio", captcha_id=challenge["captcha_id"])}


@blp.route("/captcha/<string(maxlength=64):captcha_id>/audio", methods=["GET"])
@limiter.limit(TOKEN_LIMIT)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="audio/wav",
              description="Les caractères de l'image épelés en français, sur un bruit de fond (WAV)")
@blp.alt_response(404, response="NOT_FOUND", description="Captcha inconnu, déjà utilisé ou expiré")
@blp.problems(429)
def captcha_audio(captcha_id):
    """The audio alternative of a captcha (accessibility): its characters spelled in French.

    The same characters as the image, over background noise (WAV). A captcha already answered, expired or
    unknown is a 404 problem.
    """
    answer = call_accounts("captcha_audio", captcha_id=captcha_id)
    response = Response(base64.b64decode(answer["audio"]), mimetype="audio/wav")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- registration and activation ---------------------------------------------------

@blp.route("/accounts/registrations", methods=["POST"])
@limiter.limit(REGISTRATION_LIMIT)
@blp.arguments(api.ValidateOnly, location="query")
@documented_body(api.Registration)
@blp.response(201, api.Registered)
@blp.alt_response(200, schema=api.RegistrationRecap, success=True,
                  description="validate_only : le récapitulatif, rien n'est enregistré")
@blp.problems(400, 422, 429)
def register(query):
    """Create a citizen account (``?validate_only=true``: check and return the recap, save nothing).

    Which fields are required depends on the town (address, birth place, phones, security question,
    captcha): the service answers every problem of the form at once."""
    answer = call_accounts("register", registration=body_as_sent(), validate_only=query["validate_only"])
    if query["validate_only"]:
        return jsonify(api.RegistrationRecap().dump(answer))  # a response as is: not dumped as ``Registered``
    return answer


@blp.route("/accounts/activation/preview", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(api.LinkToken)
@blp.response(200, api.ActivationPreview)
@blp.problems(400, 422, 429)
def activation_preview(payload):
    """The login proposed by default (prénom.nom) and the password policy, for the activation page."""
    return call_accounts("activation_preview", token=payload["token"])


@blp.route("/accounts/activation", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(api.Activation)
@blp.response(200, api.CitizenSession)
@blp.problems(400, 422, 429)
def activate(payload):
    """Follow the activation link: choose the login and the password; answers the tokens (logged in)."""
    return call_accounts("activate", **payload)


# --- login and sessions --------------------------------------------------------------

@blp.route("/auth/login", methods=["POST"])
@limiter.limit(LOGIN_LIMIT)
@blp.arguments(api.Login)
@blp.response(200, api.CitizenSession)
@blp.problems(401, 422, 429)
def login(payload):
    """Log in with a login or an email; the answer carries « Dernière connexion le … »."""
    return call_accounts("login", ip=request.remote_addr, **payload)


@blp.route("/auth/agent/login", methods=["POST"])
@limiter.limit(LOGIN_LIMIT)
@blp.arguments(api.AgentLogin)
@blp.response(200, api.AgentSession)
@blp.problems(401, 422, 429)
def agent_login(payload):
    """Agent login: password and the code of the authenticator application (TOTP)."""
    return call_accounts("agent_login", ip=request.remote_addr, **payload)


@blp.route("/auth/refresh", methods=["POST"])
@limiter.limit(REFRESH_LIMIT)
@blp.arguments(api.Refresh)
@blp.response(200, api.Tokens)
@blp.problems(401, 422, 429)
def refresh(payload):
    """New access token and new refresh token (the old one may not be used again)."""
    return call_accounts("refresh", refresh_token=payload["refresh_token"])


@blp.route("/auth/logout", methods=["POST"])
@limiter.limit(REFRESH_LIMIT)
@blp.arguments(api.Logout)
@blp.response(200, api.LoggedOut)
@blp.problems(401, 422, 429)
def logout(payload):
    """End the session (of the bearer token, or of the given refresh token). A bearer token sent must be valid."""
    caller = current_caller()
    return call_accounts("logout", caller=caller if caller.authenticated else None,
                         refresh_token=payload.get("refresh_token"))


# --- recovery ------------------------------------------------------------------------

@blp.route("/auth/forgotten-login", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(api.EmailAddress)
@blp.response(200, api.Acknowledgement)
@blp.problems(422, 429)
def forgotten_login(payload):
    """The login is sent by email (same answer whether an account exists or not)."""
    return call_accounts("forgotten_login", email=payload["email"])


@blp.route("/auth/security-question", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(api.Identifier)
@blp.response(200, api.SecurityQuestion)
@blp.problems(422, 429)
def security_question(payload):
    """The security question to answer before the reset email, where the town uses it."""
    return call_accounts("security_question", identifier=payload["identifier"])


@blp.route("/auth/forgotten-password", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(api.ForgottenPassword)
@blp.response(200, api.Acknowledgement)
@blp.problems(422, 429)
def forgotten_password(payload):
    """A reset link is sent by email (same answer whether an account exists or not, or has no email: a
    town-created account is told so at login)."""
    return call_accounts("forgotten_password", **payload)


@blp.route("/auth/password-reset", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(api.PasswordReset)
@blp.response(200, api.PasswordWasReset)
@blp.problems(400, 422, 429)
def password_reset(payload):
    """Choose a new password with the link of the reset email; every session ends."""
    return call_accounts("reset_password", **payload)
