"""/.well-known/jwks.json: the public keys other systems verify Guichet's access tokens with."""
import json

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from guichet_common import access_tokens
from guichet_common.errors import ServiceUnavailable

JWKS = "/.well-known/jwks.json"


def test_the_published_keys_verify_a_token_accounts_signed(client, signing_key):
    response = client.get(JWKS)
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    assert [key["kid"] for key in document["keys"]] == [signing_key.kid]
    assert document["keys"][0] | {"x": "…"} == {"kty": "OKP", "crv": "Ed25519", "x": "…", "kid": signing_key.kid,
                                               "use": "sig", "alg": "EdDSA"}
    token = signing_key.token(sub="acc-7", sid="sess-9")
    verified = access_tokens.verify(token, access_tokens.keys_from_jwks(document).get)
    assert verified.claims["sub"] == "acc-7" and verified.kid == signing_key.kid


def test_cacheable_for_a_few_minutes_and_revalidated_by_etag(client):
    response = client.get(JWKS)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.mimetype == "application/json"
    again = client.get(JWKS, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_every_key_of_a_rotation_is_published(client, fake_rpc, signing_key, new_key):
    rotated = new_key("accounts-2024-02")
    fake_rpc.replies[("accounts", "public_keys")] = {"keys": [rotated.jwk(), signing_key.jwk()]}
    document = client.get(JWKS).get_json()
    assert sorted(key["kid"] for key in document["keys"]) == ["accounts-2024-01", "accounts-2024-02"]
    for key in (signing_key, rotated):
        assert access_tokens.verify(key.token(), access_tokens.keys_from_jwks(document).get).kid == key.kid


def test_a_private_key_is_never_published(client, fake_rpc, signing_key):
    leaked = Ed25519PrivateKey.generate()
    private = {**json.loads(OKPAlgorithm.to_jwk(leaked)), "kid": "leaked", "use": "sig"}
    assert "d" in private
    fake_rpc.replies[("accounts", "public_keys")] = {"keys": [signing_key.jwk(), private,
                                                              {**signing_key.jwk(), "kid": "odd", "d": "AAAA"}]}
    body = client.get(JWKS).get_data(as_text=True)
    assert [key["kid"] for key in json.loads(body)["keys"]] == [signing_key.kid]
    assert '"d"' not in body


def test_the_serialiser_drops_private_members_of_a_private_key_object():
    leaked = Ed25519PrivateKey.generate()
    assert access_tokens.public_jwks({"leaked": leaked}) == {"keys": []}
    public = access_tokens.public_jwks({"ok": leaked.public_key()})["keys"][0]
    assert set(public) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert jwt.PyJWK(public).key_id == "ok"


def test_no_key_set_yet_is_a_503_problem_not_an_empty_set(client, fake_rpc):
    fake_rpc.replies[("accounts", "public_keys")] = ServiceUnavailable()
    response = client.get(JWKS)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "Cache-Control" not in response.headers or "public" not in response.headers["Cache-Control"]


def test_documented_with_its_schema_and_its_503(client):
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"][JWKS]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(document["components"]["schemas"][schema]["properties"]) == {"keys"}
    jwk = document["components"]["schemas"]["PublicJwk"]["properties"]
    assert "d" not in jwk and {"kty", "crv", "x", "kid", "use", "alg"} == set(jwk)
    assert operation["responses"]["503"]["$ref"].endswith("SERVICE_UNAVAILABLE")
