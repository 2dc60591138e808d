"""Access tokens (JWT signed with Ed25519), the signing key ring, and refresh-token families.

Access tokens
    Short-lived (10 minutes by default) JWTs whose rules (algorithm, header,
    claims, verification) are ``guichet_common.access_tokens``: this module
    issues them, the gateway verifies them locally with the published JWKS.
    ``sid`` is the session, which is the refresh-token family.

Key ring
    The current key signs; the keys it replaced keep verifying until retired.
    A ``kid`` is the RFC 7638 JWK thumbprint of the public key, so it can be
    recomputed from the stored PEM. Rotation: ``ring.rotate(now)``; publish the
    new JWKS at once (the new key is in it before it signs anything the gateway
    sees, as long as the gateway refreshes its JWKS on an unknown ``kid``), and
    ``ring.retire_superseded(now, grace)`` once ``grace`` (at least the access
    token lifetime plus the gateway's JWKS cache time) has passed.

Refresh tokens
    Opaque ``secrets.token_urlsafe(32)`` strings, stored only as SHA-256 hex
    digests. A ``RefreshTokenFamily`` is one login session: every refresh
    rotates the token; presenting a token that was already rotated revokes the
    whole family (someone else has a copy), and ``RefreshTokenReused`` is raised.
    There is no grace period for two refreshes racing each other: the second
    one ends the session (the client logs in again). The family keeps the hashes
    of its last ``MAX_USED_HASHES`` rotated tokens; an older one is refused as
    unknown without revoking, which loses nothing (it cannot refresh either).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from guichet_common import access_tokens

from . import messages as msg

ALGORITHM = access_tokens.ALGORITHM
ACCESS_TOKEN_TTL = access_tokens.LIFETIME


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------
# Signing keys and the key ring
# --------------------------------------------------------------------------

def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(public_key))},
                           separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey = field(repr=False)
    created_at: datetime
    superseded_at: datetime | None = None  # when a newer key took over the signing

    @property
    def kid(self) -> str:
        return jwk_thumbprint(self.private_key.public_key())

    @classmethod
    def generate(cls, now: datetime | None = None) -> "SigningKey":
        return cls(Ed25519PrivateKey.generate(), now or _utcnow())

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM of the private key, encrypted when ``password`` is given, for the service to store."""
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              encryption)

    @classmethod
    def from_pem(cls, pem: bytes, *, created_at: datetime, superseded_at: datetime | None = None,
                 password: bytes | None = None) -> "SigningKey":
        key = serialization.load_pem_private_key(pem, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(key, created_at, superseded_at)

    def public_jwk(self) -> dict:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(_raw_public(self.private_key.public_key())),
                "kid": self.kid, "use": "sig", "alg": ALGORITHM}


@dataclass(frozen=True)
class KeyRing:
    current: SigningKey
    previous: tuple[SigningKey, ...] = ()  # newest first; they verify, they never sign

    @classmethod
    def new(cls, now: datetime | None = None) -> "KeyRing":
        return cls(SigningKey.generate(now))

    def rotate(self, now: datetime | None = None, *, new_key: SigningKey | None = None) -> "KeyRing":
        now = now or _utcnow()
        old = replace(self.current, superseded_at=now)
        return KeyRing(new_key or SigningKey.generate(now), (old, *self.previous))

    def retire(self, kid: str) -> "KeyRing":
        if kid == self.current.kid:
            raise ValueError("the current signing key cannot be retired; rotate first")
        return KeyRing(self.current, tuple(k for k in self.previous if k.kid != kid))

    def retire_superseded(self, now: datetime, grace: timedelta) -> "KeyRing":
        """Drop the previous keys superseded more than ``grace`` ago (no token they signed is still valid)."""
        keep = tuple(k for k in self.previous if k.superseded_at is None or now - k.superseded_at < grace)
        return KeyRing(self.current, keep)

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return (self.current, *self.previous)

    def find(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)


def public_jwks(keyring: KeyRing) -> dict:
    """The JSON Web Key Set the gateway fetches: every key that may still verify a token."""
    return {"keys": [k.public_jwk() for k in keyring.keys]}


# --------------------------------------------------------------------------
# Access tokens
# --------------------------------------------------------------------------

def issue_access_token(keyring: KeyRing, *, subject: str, kind: str, roles=(), session_id: str,
                       ttl: timedelta = ACCESS_TOKEN_TTL, now: datetime | None = None) -> str:
    """A new access token signed by the ring's current key, by the rules of ``guichet_common.access_tokens``."""
    claims = access_tokens.claims(subject=subject, kind=kind, roles=roles, session_id=session_id,
                                  now=now or _utcnow(), lifetime=ttl)
    key = keyring.current
    return access_tokens.sign(claims, key.private_key, key.kid)


# --------------------------------------------------------------------------
# Refresh tokens
# --------------------------------------------------------------------------

REFRESH_TOKEN_LIFETIME = timedelta(days=30)  # absolute: a new login after that
REFRESH_TOKEN_IDLE_TTL = timedelta(days=7)  # each refresh token dies unused after that
MAX_USED_HASHES = 100


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RefreshTokenError(Exception):
    message = msg.SESSION_EXPIRED

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(self.message)


class RefreshTokenInvalid(RefreshTokenError):
    """Unknown, expired, or belonging to a closed session."""


class RefreshTokenReused(RefreshTokenError):
    """An already-rotated token came back: the whole family has just been revoked."""

    message = msg.SESSION_REVOKED


@dataclass
class RefreshTokenFamily:
    """One login session and its chain of refresh tokens (only hashes are kept)."""

    family_id: str  # also the session id (``sid`` claim)
    subject: str
    kind: str
    current_hash: str
    created_at: datetime
    current_issued_at: datetime
    expires_at: datetime
    idle_ttl: timedelta = REFRESH_TOKEN_IDLE_TTL
    used_hashes: list[str] = field(default_factory=list)  # newest last
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @classmethod
    def start(cls, *, subject: str, kind: str, now: datetime | None = None,
              lifetime: timedelta = REFRESH_TOKEN_LIFETIME, idle_ttl: timedelta = REFRESH_TOKEN_IDLE_TTL,
              family_id: str | None = None) -> tuple["RefreshTokenFamily", str]:
        """A new session at login: the family and its first refresh token (hand it to the client, keep no copy)."""
        now = now or _utcnow()
        token = new_refresh_token()
        family = cls(family_id=family_id or uuid.uuid4().hex, subject=subject, kind=kind,
                     current_hash=hash_refresh_token(token), created_at=now, current_issued_at=now,
                     expires_at=now + lifetime, idle_ttl=idle_ttl)
        return family, token

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def current_expires_at(self) -> datetime:
        return min(self.expires_at, self.current_issued_at + self.idle_ttl)

    def is_active(self, now: datetime) -> bool:
        return not self.revoked and now < self.current_expires_at

    def known_hashes(self) -> tuple[str, ...]:
        """Every hash that leads to this family (for the service's lookup index)."""
        return (self.current_hash, *self.used_hashes)

    def rotate(self, token: str, now: datetime | None = None) -> str:
        """Exchange the current refresh token for a new one; detect the reuse of an old one."""
        now = now or _utcnow()
        presented = hash_refresh_token(token)
        if presented in self.used_hashes:
            if not self.revoked:
                self.revoke(now, "reuse")
            raise RefreshTokenReused("reuse")
        if not secrets.compare_digest(presented, self.current_hash):
            raise RefreshTokenInvalid("unknown")
        if self.revoked:
            raise RefreshTokenInvalid("revoked")
        if now >= self.current_expires_at:
            raise RefreshTokenInvalid("expired")
        new_token = new_refresh_token()
        self.used_hashes = [*self.used_hashes, self.current_hash][-MAX_USED_HASHES:]
        self.current_hash = hash_refresh_token(new_token)
        self.current_issued_at = now
        return new_token

    def revoke(self, now: datetime | None = None, reason: str = "logout") -> None:
        """Logout, password change (the other sessions), reuse detection, agent action."""
        if self.revoked_at is None:
            self.revoked_at = now or _utcnow()
            self.revoked_reason = reason


def revoke_other_sessions(families, *, keep: str | None, now: datetime | None = None,
                          reason: str = "password_change") -> list[RefreshTokenFamily]:
    """A password change ends the other sessions (issue 4): revoke every family but ``keep``; return those revoked."""
    now = now or _utcnow()
    revoked = []
    for family in families:
        if family.family_id != keep and not family.revoked:
            family.revoke(now, reason)
            revoked.append(family)
    return revoked
