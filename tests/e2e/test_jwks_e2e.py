"""The JWKS the gateway publishes verifies a token the real accounts service signed, and holds no private key."""
from __future__ import annotations

import json
import urllib.request

import jwt
import pytest

from guichet_common import access_tokens

from .test_accounts_e2e import _agent, _start, call

pytestmark = pytest.mark.e2e


def test_a_token_from_accounts_verifies_with_the_published_keys(processes, databases, tmp_path):
    database_url, api = _start(processes, databases, tmp_path)
    agent, code = _agent(database_url, ["administrator"])
    status, session = call("POST", api + "/auth/agent/login", {"login": "agent.test", "password": agent["password"],
                                                               "totp_code": code})
    assert status == 200, session
    token = session["access_token"]

    with urllib.request.urlopen(api.removesuffix("/api/v1") + "/.well-known/jwks.json", timeout=15) as response:
        assert response.headers["Cache-Control"] == "public, max-age=300"
        body = response.read().decode()
    document = json.loads(body)
    assert '"d"' not in body and all(set(key) == {"kty", "crv", "x", "kid", "use", "alg"} for key in document["keys"])

    # As another city system would: the kid of the token picks the key, PyJWT checks the signature and claims.
    keys = {key["kid"]: jwt.PyJWK(key) for key in document["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, keys[kid], algorithms=["EdDSA"], audience=access_tokens.AUDIENCE,
                        issuer=access_tokens.ISSUER)
    assert claims["kind"] == "agent" and claims["roles"] == ["administrator"]
