"""Local verification of the access tokens the accounts service signs (JWT, EdDSA/Ed25519).

The gateway never calls accounts to check a token: it verifies the signature
with accounts' public keys (a JWKS fetched by the ``accounts.public_keys``
RPC), kept in process memory. The key set is fetched again:
- when it is older than ``max_age`` (10 min), on the next token seen (no
  background thread, which would not survive gunicorn's fork);
- when a token names a ``kid`` the set does not hold (accounts rotated its
  key), but at most once per ``min_refresh_interval`` (30 s), so tokens with
  random kids cannot turn into one RPC each.
If accounts cannot be reached, the keys already known keep working; before a
first key set could be loaded the gateway answers 503, never 401, so clients
do not throw away valid tokens during an outage.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from guichet_common import access_tokens
from guichet_common.auth import Caller
from guichet_common.errors import GuichetError, ServiceUnavailable
from guichet_common.rpc_client import RemoteError

from .problems import InvalidToken

log = logging.getLogger(__name__)

# Until a first key set is loaded, no token can be checked: retry sooner than for an unknown kid.
KEYLESS_RETRY_SECONDS = 1.0


class ExpiredToken(InvalidToken):
    slug = "token-expired"
    detail = "Votre session a expiré. Veuillez vous reconnecter."


def parse_jwks(document) -> dict:
    """kid -> Ed25519 public key, for the signing keys of a JWKS; anything else is skipped."""
    keys = access_tokens.keys_from_jwks(document)
    for jwk in (document or {}).get("keys", []) if isinstance(document, dict) else []:
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        if kid and kid not in keys and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            # A private key published by mistake is never used nor kept in memory; say so.
            log.error("the accounts key set holds a private or unusable key: ignored", extra={"fields": {"kid": kid}})
    return keys


class KeySet:
    def __init__(self, fetch: Callable[[], dict], *, max_age: float = 600.0, min_refresh_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.clock = clock  # replaceable, for tests that move time
        self._keys: dict = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = threading.Lock()

    def key(self, kid: str):
        """The public key named ``kid``, or None if accounts does not publish it."""
        if self._is_stale() or kid not in self._keys:
            self._refresh_for(kid)
        key = self._keys.get(kid)
        if key is None and self._fetched_at is None:
            raise ServiceUnavailable("Impossible de vérifier votre session pour le moment. "
                                     "Veuillez réessayer dans quelques instants.")
        return key

    def public_jwks(self) -> dict:
        """The JWKS to publish: the public keys accounts publishes now (fetched again when stale, as for a
        token); ``ServiceUnavailable`` before a first key set could be loaded."""
        if self._is_stale():
            self._refresh_for("")
        if self._fetched_at is None:
            raise ServiceUnavailable("Les clés de vérification des jetons sont momentanément indisponibles. "
                                     "Veuillez réessayer dans quelques instants.")
        return access_tokens.public_jwks(self._keys)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at >= self.max_age

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        interval = self.min_refresh_interval if self._fetched_at is not None else KEYLESS_RETRY_SECONDS
        return self.clock() - self._attempted_at >= interval

    def _refresh_for(self, kid: str) -> None:
        # A thread that needs the key waits for a fetch in progress, then finds the work done.
        # A thread that only saw the set grow old goes on with the keys it has.
        if not self._lock.acquire(blocking=kid not in self._keys):
            return
        try:
            if not (self._is_stale() or kid not in self._keys) or not self._may_fetch():
                return
            self._attempted_at = self.clock()
            try:
                document = self._fetch()
            except (GuichetError, RemoteError) as error:
                log.warning("accounts public keys unavailable", extra={"fields": {
                    "error": type(error).__name__, "known_keys": len(self._keys)}})
                return
            self._keys = parse_jwks(document)
            self._fetched_at = self.clock()
            log.info("accounts public keys loaded", extra={"fields": {"kids": sorted(self._keys)}})
        finally:
            self._lock.release()


class TokenVerifier:
    """Verifies access tokens; a token already verified is remembered until it expires.

    A client sends the same token with every request of its session: decoding
    and checking the Ed25519 signature again cost about 40 % of the gateway's
    CPU per request. A remembered token still expires on time, and still fails
    once accounts stops publishing its key (the key set is consulted each time).
    """

    CACHE_SIZE = 10_000  # tokens (about 2 MB); the cache is emptied when full, rare and harmless

    def __init__(self, keys: KeySet, *, issuer: str, audience: str, leeway: int = 10,
                 clock: Callable[[], float] = time.time):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.clock = clock
        self._verified: dict[str, tuple[Caller, float, str]] = {}

    def verify(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, expires_at, kid = remembered
            if self.clock() >= expires_at + self.leeway:
                self._verified.pop(token, None)
                raise ExpiredToken()
            if self.keys.key(kid) is not None:
                return caller
            self._verified.pop(token, None)
        caller, expires_at, kid = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, expires_at, kid)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float, str]:
        """By the shared rules (guichet_common.access_tokens): the header is checked before any key lookup,
        so "none" or HMAC tokens never reach the key set."""
        try:
            verified = access_tokens.verify(token, self.keys.key, issuer=self.issuer, audience=self.audience,
                                            leeway=self.leeway)
        except access_tokens.ExpiredAccessToken:
            raise ExpiredToken() from None
        except access_tokens.InvalidAccessToken:
            raise InvalidToken() from None
        claims = verified.claims
        caller = Caller(kind=claims["kind"], subject=claims["sub"], roles=tuple(claims["roles"]), session=claims["sid"])
        return caller, float(claims["exp"]), verified.kid
