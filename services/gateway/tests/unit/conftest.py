"""Gateway unit fixtures: a fake RPC client, a local Ed25519 key standing for accounts', a test app.

The test app is the real ``create_app`` plus a ``/api/v1/test`` blueprint with
the kinds of routes domain blueprints will have (validated bodies, protected
routes, RPC calls), so the gateway machinery is exercised the way it is used.
"""
from __future__ import annotations

import dataclasses
import json
import time
import uuid

import jwt
import marshmallow as ma
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.views import MethodView
from jwt.algorithms import OKPAlgorithm
from marshmallow import fields, validate

from guichet_common import context
from guichet_contracts.fields import FrenchSchema
from guichet_gateway.api import Blueprint
from guichet_gateway.app import create_app
from guichet_gateway.auth import current_caller, require_agent, require_citizen
from guichet_gateway.ratelimit import limiter
from guichet_gateway.rpc import rpc_client
from guichet_gateway.settings import GatewaySettings


class FakeRpc:
    """Stands for guichet_common.rpc_client.RpcClient: answers from ``replies``, records every call.

    ``replies[(service, method)]`` is a value, an exception instance to raise,
    or a callable receiving the call's arguments.
    """

    def __init__(self):
        self.replies: dict = {}
        self.calls: list[dict] = []
        self.broker_up = True
        self.amqp_uri = None

    def call(self, service, method, *args, kwargs=None, caller=None, timeout=None):
        self.calls.append({"service": service, "method": method, "args": args, "kwargs": kwargs,
                           "caller": caller, "timeout": timeout,
                           "correlation_id": context.correlation_id.get()})
        reply = self.replies.get((service, method))
        if reply is None and method == "health":
            reply = {"service": service, "status": "ok"}
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            return reply(*args, kwargs=kwargs, caller=caller, timeout=timeout)
        return reply

    def ping(self):
        from guichet_common.errors import ServiceUnavailable

        if not self.broker_up:
            raise ServiceUnavailable()

    def calls_to(self, service, method):
        return [call for call in self.calls if call["service"] == service and call["method"] == method]


class SigningKey:
    """An Ed25519 key pair playing the accounts service's token key."""

    def __init__(self, kid: str | None = None):
        self.kid = kid or f"key-{uuid.uuid4().hex[:8]}"
        self.private = Ed25519PrivateKey.generate()

    def jwk(self) -> dict:
        return {**json.loads(OKPAlgorithm.to_jwk(self.private.public_key())), "kid": self.kid, "use": "sig"}

    def token(self, *, kid: str | None = None, typ: str | None = "at+jwt", lifetime: int = 300, **claims) -> str:
        """A token shaped like accounts' (guichet_accounts.domain.tokens.issue_access_token)."""
        now = int(time.time())
        payload = {"iss": "guichet-accounts", "aud": "guichet", "sub": "acc-123", "kind": "citizen", "roles": [],
                   "sid": "sess-1", "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
        payload.update(claims)
        payload = {key: value for key, value in payload.items() if value is not None}
        headers = {"kid": kid or self.kid, **({"typ": typ} if typ else {})}
        return jwt.encode(payload, self.private, algorithm="EdDSA", headers=headers)


# --- the test blueprint: routes shaped like the domain ones -------------------

class ChildSchema(FrenchSchema):
    prenom = fields.String(required=True)


class PersonSchema(FrenchSchema):
    nom = fields.String(required=True, validate=validate.Length(min=2, max=20))
    age = fields.Integer(validate=validate.Range(min=0, max=130))
    email = fields.Email()
    civilite = fields.String(validate=validate.OneOf(["M.", "Mme"]))
    naissance = fields.Date()
    enfants = fields.List(fields.Nested(ChildSchema))


class PersonChangesSchema(PersonSchema):
    """A PATCH body: the fields of a person, none required."""


class PlainSchema(ma.Schema):
    """Not derived from FrenchSchema: its English messages are translated after the fact."""
    code = fields.String(required=True, validate=validate.Length(equal=5))


class PageSchema(FrenchSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class UploadSchema(FrenchSchema):
    titre = fields.String()


test_blp = Blueprint("test", __name__, url_prefix="/test")


@test_blp.route("/personnes")
class People(MethodView):
    @test_blp.arguments(PersonSchema)
    @test_blp.response(201, PersonSchema)
    def post(self, person):
        return person

    @test_blp.arguments(PersonChangesSchema(partial=True))
    @test_blp.response(200, PersonSchema)
    def patch(self, changes):
        return changes


@test_blp.route("/plain", methods=["POST"])
@test_blp.arguments(PlainSchema)
@test_blp.response(200)
def plain(payload):
    return payload


@test_blp.route("/pages")
@test_blp.arguments(PageSchema, location="query")
@test_blp.response(200)
def pages(args):
    return args


@test_blp.route("/upload", methods=["POST"])
@test_blp.arguments(UploadSchema, location="form")
@test_blp.response(200)
def upload(form):
    return form


@test_blp.route("/rpc/<service>/<method>")
@test_blp.response(200)
def call_service(service, method):
    return {"result": rpc_client().call(service, method)}


@test_blp.route("/boom")
def boom():
    raise RuntimeError("secret internal detail jean.dupont@example.org")


@test_blp.route("/me")
class Me(MethodView):
    @require_citizen
    @test_blp.response(200)
    def get(self, caller):
        return {"kind": caller.kind, "subject": caller.subject, "session": caller.session,
                "rpc": rpc_client().call("accounts", "whoami", caller=caller)}


@test_blp.route("/me/profil")
class MyProfile(MethodView):
    @require_citizen
    @test_blp.arguments(PersonSchema)
    @test_blp.response(200)
    def put(self, person, caller):
        return {"subject": caller.subject, "nom": person["nom"]}


@test_blp.route("/agent/demandes")
@require_agent("instructeur")
@test_blp.response(200)
def agent_requests(caller):
    return {"subject": caller.subject, "roles": list(caller.roles)}


@test_blp.route("/connexion")
class Login(MethodView):
    @limiter.limit("2/minute")  # outermost: malformed attempts count too
    @test_blp.arguments(ChildSchema)
    @test_blp.response(200)
    def post(self, payload):
        return {"ok": True}


@test_blp.route("/catalogue")
@test_blp.response(200)
def catalogue():
    caller = current_caller()
    return {"personalised": caller.authenticated}


# --- fixtures -----------------------------------------------------------------

@pytest.fixture
def settings():
    return GatewaySettings.from_env({"GUICHET_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "GUICHET_RPC_TIMEOUT": "2"})


@pytest.fixture
def signing_key():
    return SigningKey("accounts-2024-01")


@pytest.fixture
def new_key():
    """Makes other keys: a rotated accounts key, an attacker's key."""
    return SigningKey


@pytest.fixture
def fake_rpc(signing_key):
    rpc = FakeRpc()
    rpc.replies[("accounts", "public_keys")] = {"keys": [signing_key.jwk()]}
    rpc.replies[("accounts", "whoami")] = lambda **call: {"sub": call["caller"].subject}
    return rpc


@pytest.fixture
def make_app(settings, fake_rpc):
    def make(**overrides):
        app = create_app(dataclasses.replace(settings, **overrides), rpc_client=fake_rpc)
        app.config["TESTING"] = True
        api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        api.register_blueprint(test_blp, url_prefix="/api/v1/test")
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_header():
    return bearer
