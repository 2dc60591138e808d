"""Access tokens verified locally against accounts' public keys, and routes that require a caller."""
import json
import threading
import time

import jwt
import pytest
from jwt.algorithms import OKPAlgorithm

from guichet_common.auth import Caller
from guichet_common.errors import ServiceUnavailable
from guichet_gateway.tokens import KeySet, TokenVerifier, parse_jwks


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    fake = FakeClock()
    app.extensions["guichet"].token_verifier.keys.clock = fake
    return fake


def assert_401(response, slug="invalid-token", invalid_token=True):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == f"urn:guichet:problem:{slug}"
    expected = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    assert response.headers["WWW-Authenticate"] == expected
    return body


def test_a_valid_citizen_token_gives_the_route_its_caller(client, fake_rpc, signing_key, auth_header):
    token = signing_key.token(sub="acc-7", sid="sess-9")
    response = client.get("/api/v1/test/me", headers=auth_header(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"kind": "citizen", "subject": "acc-7", "session": "sess-9",
                                   "rpc": {"sub": "acc-7"}}
    caller = fake_rpc.calls_to("accounts", "whoami")[0]["caller"]
    assert caller == Caller(kind="citizen", subject="acc-7", roles=(), session="sess-9")


def test_the_key_set_is_fetched_once_not_per_request(client, fake_rpc, signing_key, auth_header):
    for _ in range(5):
        assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 1


def test_a_missing_token_on_a_protected_route_is_a_401(client, fake_rpc):
    body = assert_401(client.get("/api/v1/test/me"), slug="unauthenticated", invalid_token=False)
    assert body["detail"] == "Vous devez être connecté pour accéder à cette page."
    assert not fake_rpc.calls_to("accounts", "public_keys")


def test_the_check_runs_before_validation(client):
    assert_401(client.put("/api/v1/test/me/profil", json={}), slug="unauthenticated", invalid_token=False)


def test_an_expired_token_is_a_401_asking_to_log_in_again(client, signing_key, auth_header):
    token = signing_key.token(iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
    body = assert_401(client.get("/api/v1/test/me", headers=auth_header(token)), slug="token-expired")
    assert body["detail"] == "Votre session a expiré. Veuillez vous reconnecter."


def test_a_token_signed_by_another_key_is_a_401(client, signing_key, auth_header, new_key):
    forged = new_key(signing_key.kid).token()  # same kid, other private key
    body = assert_401(client.get("/api/v1/test/me", headers=auth_header(forged)))
    assert body["detail"] == "Votre jeton d'accès est invalide. Veuillez vous reconnecter."


def test_a_tampered_token_is_a_401(client, signing_key, auth_header):
    header, payload, signature = signing_key.token().split(".")
    other_payload = signing_key.token(sub="acc-admin").split(".")[1]
    assert_401(client.get("/api/v1/test/me", headers=auth_header(f"{header}.{other_payload}.{signature}")))
    assert payload != other_payload


@pytest.mark.parametrize("claims", [
    {"aud": "autre-application"},
    {"iss": "quelqu-un-d-autre"},
    {"kind": "robot"},
    {"sid": None},
    {"sub": None},
    {"roles": "administrator"},
])
def test_a_token_with_wrong_claims_is_a_401(client, signing_key, auth_header, claims):
    assert_401(client.get("/api/v1/test/me", headers=auth_header(signing_key.token(**claims))))


def test_a_token_of_another_type_is_a_401(client, signing_key, auth_header):
    assert_401(client.get("/api/v1/test/me", headers=auth_header(signing_key.token(typ="reset+jwt"))))


def test_a_token_without_type_header_is_accepted(client, signing_key, auth_header):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token(typ=None))).status_code == 200


def test_a_service_token_is_authenticated_but_not_a_citizen(client, signing_key, auth_header):
    token = signing_key.token(kind="service", sub="etat-civil")
    assert client.get("/api/v1/test/catalogue", headers=auth_header(token)).get_json() == {"personalised": True}
    assert client.get("/api/v1/test/me", headers=auth_header(token)).status_code == 403


def test_an_unsigned_or_hmac_token_is_a_401_without_touching_the_keys(client, fake_rpc, auth_header):
    none_token = jwt.encode({"sub": "x"}, None, algorithm="none", headers={"kid": "k"})
    hmac_token = jwt.encode({"sub": "x"}, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256",
                            headers={"kid": "k"})
    for token in (none_token, hmac_token, "not-a-jwt", "a.b.c"):
        assert_401(client.get("/api/v1/test/me", headers=auth_header(token)))
    assert not fake_rpc.calls_to("accounts", "public_keys")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_a_malformed_authorization_header_is_a_401(client, header):
    assert_401(client.get("/api/v1/test/me", headers={"Authorization": header}))


def test_an_unknown_kid_triggers_one_refresh_then_is_accepted(client, fake_rpc, signing_key, auth_header, clock,
                                                              new_key):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    rotated = new_key("accounts-2024-02")
    fake_rpc.replies[("accounts", "public_keys")] = {"keys": [signing_key.jwk(), rotated.jwk()]}
    clock.now += 31
    response = client.get("/api/v1/test/me", headers=auth_header(rotated.token()))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 2
    # Known from now on: no more fetch.
    assert client.get("/api/v1/test/me", headers=auth_header(rotated.token())).status_code == 200
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 2


def test_random_kids_cannot_make_the_gateway_call_accounts_each_time(client, fake_rpc, signing_key, auth_header,
                                                                     clock, new_key):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    clock.now += 31
    for number in range(20):
        attacker = new_key(f"random-{number}")
        assert_401(client.get("/api/v1/test/me", headers=auth_header(attacker.token())))
        clock.now += 1
    # One refresh for the first unknown kid, then one more once 30 s have passed.
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 2


def test_the_key_set_is_refreshed_every_ten_minutes(client, fake_rpc, signing_key, auth_header, clock):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    clock.now += 599
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 1
    clock.now += 2
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    assert len(fake_rpc.calls_to("accounts", "public_keys")) == 2


def test_a_key_removed_by_accounts_stops_working_at_the_next_refresh(client, fake_rpc, signing_key, auth_header,
                                                                    clock):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    fake_rpc.replies[("accounts", "public_keys")] = {"keys": []}
    clock.now += 601
    assert_401(client.get("/api/v1/test/me", headers=auth_header(signing_key.token())))


def test_known_keys_keep_working_while_accounts_is_down(client, fake_rpc, signing_key, auth_header, clock):
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200
    fake_rpc.replies[("accounts", "public_keys")] = ServiceUnavailable()
    clock.now += 601
    assert client.get("/api/v1/test/me", headers=auth_header(signing_key.token())).status_code == 200


def test_without_any_key_an_accounts_outage_is_a_503_not_a_401(client, fake_rpc, signing_key, auth_header):
    fake_rpc.replies[("accounts", "public_keys")] = ServiceUnavailable()
    response = client.get("/api/v1/test/me", headers=auth_header(signing_key.token()))
    assert response.status_code == 503
    assert response.get_json(force=True)["type"] == "urn:guichet:problem:service-unavailable"


def test_an_agent_is_refused_a_citizen_route(client, signing_key, auth_header):
    token = signing_key.token(kind="agent", roles=["instructeur"])
    response = client.get("/api/v1/test/me", headers=auth_header(token))
    assert response.status_code == 403
    assert response.get_json(force=True)["type"] == "urn:guichet:problem:forbidden"


@pytest.mark.parametrize(("kind", "roles", "status"), [
    ("agent", ["instructeur"], 200),
    ("agent", ["administrator"], 200),
    ("agent", ["regisseur"], 403),
    ("citizen", [], 403),
])
def test_agent_routes_check_the_roles(client, signing_key, auth_header, kind, roles, status):
    response = client.get("/api/v1/test/agent/demandes", headers=auth_header(signing_key.token(kind=kind, roles=roles)))
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 200:
        assert response.get_json() == {"subject": "acc-123", "roles": roles}


def test_public_routes_ignore_tokens_they_do_not_read(client, auth_header):
    assert client.get("/api/v1/", headers=auth_header("garbage")).status_code == 200


def test_a_public_route_that_reads_the_caller_accepts_no_token_and_refuses_a_bad_one(client, signing_key,
                                                                                     auth_header):
    assert client.get("/api/v1/test/catalogue").get_json() == {"personalised": False}
    assert client.get("/api/v1/test/catalogue", headers=auth_header(signing_key.token())).get_json() == \
        {"personalised": True}
    assert_401(client.get("/api/v1/test/catalogue", headers=auth_header("garbage")))


# --- the key set on its own -------------------------------------------------------

def test_parse_jwks_keeps_only_ed25519_public_signing_keys(signing_key, new_key):
    private = new_key("leaked")
    leaked = {**json.loads(OKPAlgorithm.to_jwk(private.private)), "kid": "leaked"}
    document = {"keys": [
        signing_key.jwk(),
        leaked,
        {**new_key("enc").jwk(), "use": "enc"},
        {"kty": "RSA", "kid": "rsa", "n": "x", "e": "AQAB"},
        {**new_key("nokid").jwk(), "kid": None},
        {"kty": "OKP", "crv": "Ed25519", "kid": "broken", "x": "!!"},
        "not a dict",
    ]}
    assert list(parse_jwks(document)) == [signing_key.kid]
    assert parse_jwks(None) == {} and parse_jwks({"keys": "x"}) == {}


def test_concurrent_requests_with_a_new_kid_share_one_refresh(signing_key):
    calls = []
    gate = threading.Event()

    def slow_fetch():
        calls.append(1)
        gate.wait(2)
        return {"keys": [signing_key.jwk()]}

    verifier = TokenVerifier(KeySet(slow_fetch), issuer="guichet-accounts", audience="guichet")
    results = []
    threads = [threading.Thread(target=lambda: results.append(verifier.verify(signing_key.token())))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1
    assert len(results) == 8 and all(caller.subject == "acc-123" for caller in results)


def test_a_slow_periodic_refresh_does_not_hold_up_requests_with_known_keys(signing_key):
    fetching, release = threading.Event(), threading.Event()
    documents = iter([{"keys": [signing_key.jwk()]}, None])

    def fetch():
        document = next(documents)
        if document is None:  # the second fetch: accounts is slow
            fetching.set()
            release.wait(5)
            return {"keys": [signing_key.jwk()]}
        return document

    clock = FakeClock()
    verifier = TokenVerifier(KeySet(fetch, clock=clock), issuer="guichet-accounts", audience="guichet")
    verifier.verify(signing_key.token())
    clock.now += 601
    slow = threading.Thread(target=verifier.verify, args=(signing_key.token(),))
    slow.start()
    assert fetching.wait(2)
    started = time.monotonic()
    assert verifier.verify(signing_key.token()).subject == "acc-123"
    assert time.monotonic() - started < 0.5
    release.set()
    slow.join(5)


def test_a_token_seen_before_is_not_decoded_again_but_still_expires(signing_key, monkeypatch):
    from guichet_gateway import tokens
    from guichet_gateway.problems import InvalidToken
    from guichet_gateway.tokens import ExpiredToken

    decoded = []
    real_decode = tokens.access_tokens.jwt.decode  # the shared token rules decode with PyJWT
    monkeypatch.setattr(tokens.access_tokens.jwt, "decode",
                        lambda *a, **kw: decoded.append(1) or real_decode(*a, **kw))
    wall = FakeClock()
    wall.now = time.time()
    verifier = TokenVerifier(KeySet(lambda: {"keys": [signing_key.jwk()]}), issuer="guichet-accounts",
                             audience="guichet", clock=wall)
    token = signing_key.token(lifetime=300)
    assert verifier.verify(token).subject == verifier.verify(token).subject == "acc-123"
    assert len(decoded) == 1
    wall.now += 300 + verifier.leeway + 1
    with pytest.raises(ExpiredToken):
        verifier.verify(token)
    with pytest.raises(InvalidToken):
        verifier.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))  # a forged copy is not a hit


def test_a_remembered_token_fails_once_its_key_is_withdrawn(signing_key, new_key):
    published = {"keys": [signing_key.jwk()]}
    clock = FakeClock()
    verifier = TokenVerifier(KeySet(lambda: published, clock=clock), issuer="guichet-accounts", audience="guichet")
    token = signing_key.token()
    verifier.verify(token)
    published = {"keys": [new_key().jwk()]}  # accounts retired the key
    clock.now += 601  # the key set is refreshed on its schedule
    with pytest.raises(Exception) as refused:
        verifier.verify(token)
    assert getattr(refused.value, "status", None) == 401
