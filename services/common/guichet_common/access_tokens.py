"""The access-token rules, written once: accounts issues tokens by them, the gateway verifies tokens by them.

An access token is a JWT signed with Ed25519 (``alg`` ``EdDSA``), its header
naming the key (``kid``) and, per RFC 9068, its type (``at+jwt``). Its claims:
``iss`` (``guichet-accounts``), ``aud`` (``guichet``), ``sub``, ``kind``
(``citizen`` | ``agent`` | ``service``), ``roles`` (a list of strings), ``sid``
(the session), ``iat``, ``exp`` and ``jti``. ``guichet_common.auth.Caller``
carries ``kind``, ``sub``, ``roles`` and ``sid`` to the services.

The verifier refuses, before looking for any key, a token whose algorithm is
not EdDSA ("none" and HMAC tokens never reach the key set), whose ``kid`` is
missing or unreasonable, or whose type is another one (a link or reset token
that the same key might sign is not an access token; a token without ``typ``
is accepted). Keys come from the JWKS accounts publishes: only Ed25519 public
signing keys are used, a private key published by mistake never is.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
from jwt.algorithms import OKPAlgorithm

ISSUER = "guichet-accounts"
AUDIENCE = "guichet"
ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
# RFC 9068's type as issued, its media-type spelling, or the generic JWT.
ACCEPTED_TYPES = ("at+jwt", "application/at+jwt", "jwt")
KINDS = ("citizen", "agent", "service")
REQUIRED_CLAIMS = ("iss", "aud", "sub", "kind", "roles", "sid", "iat", "exp", "jti")
LIFETIME = timedelta(minutes=10)
LEEWAY = timedelta(seconds=10)  # clock difference tolerated between the issuer and a verifier
MAX_KID_LENGTH = 128


class InvalidAccessToken(Exception):
    """Malformed, wrong algorithm or type, unknown key, bad signature, wrong issuer or audience, bad claims."""

    def __init__(self, reason: str = "invalid"):
        self.reason = reason
        super().__init__(reason)


class ExpiredAccessToken(InvalidAccessToken):
    def __init__(self) -> None:
        super().__init__("expired")


@dataclass(frozen=True)
class VerifiedToken:
    claims: dict
    kid: str  # the key that signed it


# --- issuing ---------------------------------------------------------------------------

def claims(*, subject: str, kind: str, roles=(), session_id: str, now: datetime,
           lifetime: timedelta = LIFETIME, issuer: str = ISSUER, audience: str = AUDIENCE) -> dict:
    """The claims of a new access token."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not subject or not session_id:
        raise ValueError("subject and session_id are required")
    issued = int(now.timestamp())
    return {"iss": issuer, "aud": audience, "sub": str(subject), "kind": kind, "roles": sorted(set(roles)),
            "sid": str(session_id), "iat": issued, "exp": issued + int(lifetime.total_seconds()),
            "jti": uuid4().hex}


def headers(kid: str) -> dict:
    return {"kid": kid, "typ": TOKEN_TYPE}


def sign(token_claims: dict, private_key: Any, kid: str) -> str:
    return jwt.encode(token_claims, private_key, algorithm=ALGORITHM, headers=headers(kid))


# --- keys ------------------------------------------------------------------------------

def public_key(jwk: Any) -> Any:
    """The Ed25519 public key of one JWK; ``ValueError`` for any other key, a private one included."""
    if not isinstance(jwk, dict) or not jwk.get("kid"):
        raise ValueError("not a JWK with a kid")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("use", "sig") != "sig":
        raise ValueError("not an Ed25519 signing key")
    if "d" in jwk:
        raise ValueError("a private key")
    try:
        return OKPAlgorithm.from_jwk(jwk)
    except (jwt.InvalidKeyError, TypeError) as error:
        raise ValueError(f"unusable key: {error}") from None


def keys_from_jwks(document: Any) -> dict:
    """kid -> public key of every usable key of a JWKS document; the others are skipped."""
    keys = {}
    for jwk in (document or {}).get("keys", []) if isinstance(document, dict) else []:
        try:
            keys[jwk["kid"]] = public_key(jwk)
        except ValueError:
            continue
    return keys


def public_jwks(keys: dict) -> dict:
    """The JWKS of ``keys`` (kid -> key): each JWK is rebuilt from its public members only (never copied from
    a document), and a key that is private or not Ed25519 is left out."""
    published = []
    for kid, key in sorted(keys.items()):
        try:
            jwk = json.loads(OKPAlgorithm.to_jwk(key))
        except (jwt.InvalidKeyError, TypeError, ValueError):
            continue
        if jwk.get("crv") == "Ed25519" and "d" not in jwk:
            published.append({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "kid": kid, "use": "sig",
                              "alg": ALGORITHM})
    return {"keys": published}


# --- verifying -------------------------------------------------------------------------

def key_id(token: str) -> str:
    """The ``kid`` of a token whose header is an access token's; checked before any key is looked up."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidAccessToken("malformed") from None
    kid, token_type = header.get("kid"), header.get("typ")
    if header.get("alg") != ALGORITHM:
        raise InvalidAccessToken("algorithm")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise InvalidAccessToken("key id")
    if token_type is not None and str(token_type).lower() not in ACCEPTED_TYPES:
        raise InvalidAccessToken("type")
    return kid


def _check_claims(token_claims: dict) -> dict:
    roles = token_claims.get("roles")
    subject, session = token_claims.get("sub"), token_claims.get("sid")
    if token_claims.get("kind") not in KINDS or not isinstance(subject, str) or not subject:
        raise InvalidAccessToken("claims")
    if not isinstance(session, str) or not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidAccessToken("claims")
    return token_claims


def verify(token: str, key_for: Callable[[str], Any], *, issuer: str = ISSUER, audience: str = AUDIENCE,
           leeway: timedelta | int = LEEWAY) -> VerifiedToken:
    """The checked claims of ``token`` and the kid of its key; ``key_for(kid)`` gives the public key (None:
    unknown). Raises ``ExpiredAccessToken`` or ``InvalidAccessToken``."""
    kid = key_id(token)
    key = key_for(kid)
    if key is None:
        raise InvalidAccessToken("unknown key")
    try:
        token_claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                                  leeway=leeway, options={"require": list(REQUIRED_CLAIMS)})
    except jwt.ExpiredSignatureError:
        raise ExpiredAccessToken() from None
    except jwt.InvalidAudienceError:
        raise InvalidAccessToken("audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidAccessToken("issuer") from None
    except jwt.InvalidTokenError:
        raise InvalidAccessToken("invalid") from None
    return VerifiedToken(_check_claims(token_claims), kid)
