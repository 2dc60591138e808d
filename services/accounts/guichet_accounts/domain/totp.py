"""TOTP (RFC 6238) for the agents' second factor, on the standard library's hmac.

- Secrets: 20 random bytes (160 bits, RFC 4226's recommendation), shown
  base32 without padding for authenticator apps.
- Codes: 6 digits, 30-second steps, HMAC-SHA1 (what every authenticator app
  supports); SHA-256 / SHA-512 and 8 digits are available (RFC 6238 vectors).
- ``verify`` accepts the current step and ``window`` steps either side (clock
  drift) and returns the matched step: the service stores it and passes it as
  ``last_used_step`` next time, so that a code cannot be replayed.
- ``provisioning_uri`` gives the ``otpauth://totp/…`` URI for the QR code.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

DIGITS = 6
PERIOD = 30
ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
SECRET_BYTES = 20
ISSUER = "Guichet"


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """RFC 4226 HOTP of a raw key."""
    digest = hmac.new(key, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10 ** digits).zfill(digits)


def _timestamp(at: datetime | float | int) -> float:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return at.timestamp()
    return float(at)


def time_step(at: datetime | float | int, *, period: int = PERIOD) -> int:
    return int(_timestamp(at) // period)


def totp(secret: str, at: datetime | float | int, *, digits: int = DIGITS, period: int = PERIOD,
         algorithm: str = "SHA1") -> str:
    """The code for base32 ``secret`` at ``at`` (a datetime or epoch seconds)."""
    return hotp(_secret_bytes(secret), time_step(at, period=period), digits=digits, algorithm=algorithm)


def verify(secret: str, code: str, at: datetime | float | int, *, window: int = 1, last_used_step: int | None = None,
           digits: int = DIGITS, period: int = PERIOD, algorithm: str = "SHA1") -> int | None:
    """The time step ``code`` matches (store it as ``last_used_step``), or ``None``.

    Steps at or before ``last_used_step`` are refused: each code is usable once.
    """
    code = (code or "").replace(" ", "")
    if len(code) != digits or not code.isdigit():
        return None
    key = _secret_bytes(secret)
    current = time_step(at, period=period)
    matched = None
    for step in range(current - window, current + window + 1):
        if step < 0 or (last_used_step is not None and step <= last_used_step):
            continue
        if hmac.compare_digest(hotp(key, step, digits=digits, algorithm=algorithm), code):
            matched = step  # keep looping: constant work whatever the match
    return matched


def provisioning_uri(secret: str, account_name: str, *, issuer: str = ISSUER, digits: int = DIGITS,
                     period: int = PERIOD, algorithm: str = "SHA1") -> str:
    """``otpauth://totp/Issuer:account?secret=…&issuer=…`` (Key Uri Format of authenticator apps)."""
    label = quote(f"{issuer}:{account_name}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": algorithm, "digits": digits,
                       "period": period}, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"
