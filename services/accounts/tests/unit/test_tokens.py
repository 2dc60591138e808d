import base64
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.tokens import (
    KeyRing,
    RefreshTokenFamily,
    RefreshTokenInvalid,
    RefreshTokenReused,
    SigningKey,
    hash_refresh_token,
    issue_access_token,
    jwk_thumbprint,
    new_refresh_token,
    public_jwks,
    revoke_other_sessions,
)
from guichet_common import access_tokens
from guichet_common.access_tokens import ExpiredAccessToken, InvalidAccessToken

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def verified(token, jwks, **options):
    """The claims, verified by the shared rules with the keys of ``jwks`` (as the gateway does)."""
    return access_tokens.verify(token, access_tokens.keys_from_jwks(jwks).get, **options).claims


def token_for(ring, **changes):
    args = dict(subject="acc-1", kind="citizen", roles=(), session_id="sess-1")
    args.update(changes)
    return issue_access_token(ring, **args)


def test_issue_and_verify():
    ring = KeyRing.new()
    token = token_for(ring, roles=["etat-civil", "voirie", "etat-civil"], kind="agent")
    claims = verified(token, public_jwks(ring))
    assert claims["iss"] == "guichet-accounts" and claims["aud"] == "guichet"
    assert claims["sub"] == "acc-1" and claims["kind"] == "agent" and claims["sid"] == "sess-1"
    assert claims["roles"] == ["etat-civil", "voirie"]
    assert claims["exp"] - claims["iat"] == 600  # 10 minutes
    assert len(claims["jti"]) == 32
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": ring.current.kid, "typ": "at+jwt"}


def test_claims_match_the_chassis_caller():
    from guichet_common.auth import Caller
    ring = KeyRing.new()
    claims = verified(token_for(ring, roles=["enfance"], kind="agent"), public_jwks(ring))
    caller = Caller.from_header(claims)
    assert (caller.kind, caller.subject, caller.roles, caller.session) == ("agent", "acc-1", ("enfance",), "sess-1")


def test_each_token_has_its_own_jti():
    ring = KeyRing.new()
    jwks = public_jwks(ring)
    assert verified(token_for(ring), jwks)["jti"] != verified(token_for(ring), jwks)["jti"]


def test_jwks_shape():
    ring = KeyRing.new()
    (key,) = public_jwks(ring)["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    assert "d" not in key  # never the private part
    # PyJWT reads it as a verification key too
    assert jwt.PyJWK(key).key is not None


def test_kid_is_the_rfc7638_thumbprint():
    key = SigningKey.generate()
    jwk_dict = key.public_jwk()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk_dict["x"]}, separators=(",", ":"))
    import hashlib
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert key.kid == expected == jwk_thumbprint(key.private_key.public_key())


def test_expired_token():
    ring = KeyRing.new()
    token = token_for(ring, now=T0)  # long ago
    with pytest.raises(ExpiredAccessToken) as caught:
        verified(token, public_jwks(ring))
    assert caught.value.reason == "expired"


def test_custom_ttl_and_leeway():
    ring = KeyRing.new()
    now = datetime.now(timezone.utc)
    token = token_for(ring, ttl=timedelta(seconds=30), now=now - timedelta(seconds=40))
    with pytest.raises(ExpiredAccessToken):
        verified(token, public_jwks(ring), leeway=timedelta(0))
    assert verified(token, public_jwks(ring), leeway=timedelta(seconds=60))["sub"] == "acc-1"


def test_wrong_audience_and_issuer():
    ring = KeyRing.new()
    token = token_for(ring)
    with pytest.raises(InvalidAccessToken) as caught:
        verified(token, public_jwks(ring), audience="other-app")
    assert caught.value.reason == "audience"
    with pytest.raises(InvalidAccessToken) as caught:
        verified(token, public_jwks(ring), issuer="someone-else")
    assert caught.value.reason == "issuer"


def test_a_token_from_another_key_is_refused():
    ring, other = KeyRing.new(), KeyRing.new()
    with pytest.raises(InvalidAccessToken) as caught:
        verified(token_for(other), public_jwks(ring))
    assert caught.value.reason == "unknown key"


def test_forged_kid_with_another_key_is_refused():
    ring, other = KeyRing.new(), KeyRing.new()
    forged = jwt.encode({"sub": "acc-1"}, other.current.private_key, algorithm="EdDSA",
                        headers={"kid": ring.current.kid})
    with pytest.raises(InvalidAccessToken):
        verified(forged, public_jwks(ring))


def test_tampered_payload_is_refused():
    ring = KeyRing.new()
    head, payload, sig = token_for(ring).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["kind"] = "agent"
    claims["roles"] = ["administrator"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidAccessToken):
        verified(f"{head}.{forged_payload}.{sig}", public_jwks(ring))


def test_alg_none_and_hs256_are_refused():
    ring = KeyRing.new()
    unsigned = jwt.encode({"sub": "acc-1"}, None, algorithm="none", headers={"kid": ring.current.kid})
    with pytest.raises(InvalidAccessToken):
        verified(unsigned, public_jwks(ring))
    hs = jwt.encode({"sub": "acc-1"}, "x" * 32, algorithm="HS256", headers={"kid": ring.current.kid})
    with pytest.raises(InvalidAccessToken):
        verified(hs, public_jwks(ring))


def test_missing_claims_are_refused():
    ring = KeyRing.new()
    now = int(datetime.now(timezone.utc).timestamp())
    partial = jwt.encode({"iss": "guichet-accounts", "aud": "guichet", "sub": "a", "iat": now, "exp": now + 60},
                         ring.current.private_key, algorithm="EdDSA", headers={"kid": ring.current.kid})
    with pytest.raises(InvalidAccessToken):
        verified(partial, public_jwks(ring))


def test_garbage_is_refused():
    with pytest.raises(InvalidAccessToken):
        verified("not.a.token", {"keys": []})
    with pytest.raises(InvalidAccessToken):
        verified("", {"keys": []})


def test_issue_refuses_bad_arguments():
    ring = KeyRing.new()
    with pytest.raises(ValueError):
        token_for(ring, kind="robot")
    with pytest.raises(ValueError):
        token_for(ring, session_id="")


# ---------------------------------------------------------------- rotation

def test_rotation_previous_key_still_verifies_until_retired():
    ring = KeyRing.new(T0)
    old_token = token_for(ring)
    rotated = ring.rotate(T0 + timedelta(days=30))
    assert rotated.current.kid != ring.current.kid
    assert [k.kid for k in rotated.previous] == [ring.current.kid]
    assert rotated.previous[0].superseded_at == T0 + timedelta(days=30)
    jwks = public_jwks(rotated)
    assert len(jwks["keys"]) == 2
    assert verified(old_token, jwks)["sub"] == "acc-1"  # signed before, still valid
    new_token = token_for(rotated)
    assert jwt.get_unverified_header(new_token)["kid"] == rotated.current.kid  # the new key signs

    retired = rotated.retire(ring.current.kid)
    assert len(public_jwks(retired)["keys"]) == 1
    with pytest.raises(InvalidAccessToken):
        verified(old_token, public_jwks(retired))
    assert verified(new_token, public_jwks(retired))["sub"] == "acc-1"


def test_the_current_key_cannot_be_retired():
    ring = KeyRing.new()
    with pytest.raises(ValueError):
        ring.retire(ring.current.kid)


def test_retire_superseded_after_grace():
    ring = KeyRing.new(T0).rotate(T0 + timedelta(days=1)).rotate(T0 + timedelta(days=2))
    assert len(ring.previous) == 2
    kept = ring.retire_superseded(T0 + timedelta(days=2, minutes=10), grace=timedelta(hours=1))
    assert len(kept.previous) == 1 and kept.previous[0].superseded_at == T0 + timedelta(days=2)
    assert ring.retire_superseded(T0 + timedelta(days=3), grace=timedelta(hours=1)).previous == ()


def test_private_keys_round_trip_through_pem():
    key = SigningKey.generate(T0)
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = SigningKey.from_pem(pem, created_at=T0)
    assert again.kid == key.kid
    ring = KeyRing(again)
    assert verified(token_for(KeyRing(key)), public_jwks(ring))["sub"] == "acc-1"


def test_encrypted_pem():
    key = SigningKey.generate(T0)
    pem = key.to_pem(password=b"s3cret")
    assert b"ENCRYPTED" in pem
    assert SigningKey.from_pem(pem, created_at=T0, password=b"s3cret").kid == key.kid
    with pytest.raises(TypeError):  # encrypted: the passphrase is needed
        SigningKey.from_pem(pem, created_at=T0)


def test_from_pem_refuses_other_key_types():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError):
        SigningKey.from_pem(pem, created_at=T0)


def test_signing_key_repr_hides_the_private_key():
    assert "private_key" not in repr(SigningKey.generate(T0))


# ---------------------------------------------------------------- refresh tokens

def test_refresh_tokens_are_random_and_stored_hashed():
    token = new_refresh_token()
    assert len(token) >= 43 and token != new_refresh_token()
    family, first = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    assert first not in repr(family)
    assert family.current_hash == hash_refresh_token(first) and len(family.current_hash) == 64


def test_rotation():
    family, first = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    second = family.rotate(first, T0 + timedelta(minutes=9))
    third = family.rotate(second, T0 + timedelta(minutes=18))
    assert len({first, second, third}) == 3
    assert family.current_hash == hash_refresh_token(third)
    assert family.known_hashes() == (hash_refresh_token(third), hash_refresh_token(first),
                                     hash_refresh_token(second))
    assert family.is_active(T0 + timedelta(minutes=20))


def test_reuse_of_a_rotated_token_revokes_the_whole_family():
    family, first = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    second = family.rotate(first, T0 + timedelta(minutes=1))  # the thief, say, refreshes first
    with pytest.raises(RefreshTokenReused) as caught:
        family.rotate(first, T0 + timedelta(minutes=2))  # the victim's copy comes back
    assert str(caught.value) == msg.SESSION_REVOKED
    assert family.revoked and family.revoked_reason == "reuse"
    with pytest.raises(RefreshTokenInvalid) as caught:
        family.rotate(second, T0 + timedelta(minutes=3))  # the current one is dead too
    assert caught.value.reason == "revoked"
    assert not family.is_active(T0 + timedelta(minutes=3))


def test_unknown_token_is_refused_without_revoking():
    family, _ = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    with pytest.raises(RefreshTokenInvalid) as caught:
        family.rotate("forged", T0)
    assert caught.value.reason == "unknown" and str(caught.value) == msg.SESSION_EXPIRED
    assert not family.revoked


def test_idle_and_absolute_expiry():
    family, first = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0,
                                             lifetime=timedelta(days=30), idle_ttl=timedelta(days=7))
    with pytest.raises(RefreshTokenInvalid) as caught:
        family.rotate(first, T0 + timedelta(days=7))
    assert caught.value.reason == "expired"
    family, token = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0,
                                             lifetime=timedelta(days=30), idle_ttl=timedelta(days=7))
    now = T0
    for _ in range(4):
        now += timedelta(days=6)
        token = family.rotate(token, now)  # kept alive by use...
    with pytest.raises(RefreshTokenInvalid):
        family.rotate(token, T0 + timedelta(days=30))  # ...but not past the absolute lifetime


def test_logout_revokes():
    family, first = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    family.revoke(T0, "logout")
    family.revoke(T0 + timedelta(hours=1), "again")  # idempotent
    assert family.revoked_reason == "logout" and family.revoked_at == T0
    with pytest.raises(RefreshTokenInvalid):
        family.rotate(first, T0)


def test_used_hashes_are_bounded():
    from guichet_accounts.domain.tokens import MAX_USED_HASHES
    family, token = RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0)
    for i in range(MAX_USED_HASHES + 5):
        token = family.rotate(token, T0 + timedelta(seconds=i))
    assert len(family.used_hashes) == MAX_USED_HASHES


def test_password_change_ends_the_other_sessions():
    families = [RefreshTokenFamily.start(subject="acc-1", kind="citizen", now=T0, family_id=f"s{i}")[0]
                for i in range(3)]
    revoked = revoke_other_sessions(families, keep="s1", now=T0)
    assert [f.family_id for f in revoked] == ["s0", "s2"]
    assert [f.revoked for f in families] == [True, False, True]
    assert families[0].revoked_reason == "password_change"
