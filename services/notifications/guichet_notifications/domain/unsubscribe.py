"""Unsubscribe links and the "non-essential messages" preference, pure (no I/O).

A non-essential email carries a signed, per-recipient token in its
``List-Unsubscribe`` link (RFC 8058 one-click) and in its footer. The token
says *who* (a recipient key, see :func:`recipient_key`) and *when it was
issued*; it is signed with HMAC-SHA256 so that nobody can forge one for
another recipient::

    v1.<base64url(JSON {"r": recipient key, "t": issued at, unix seconds})>.<base64url(HMAC-SHA256)>

The signature covers the version and the payload, under a domain-separation
prefix (``guichet.notifications.unsubscribe``), so a secret reused elsewhere
could not be used to forge a token. Several secrets may be configured: the
first signs, every one verifies (rotation without breaking the links already
in inboxes). The token holds no address: a recipient without an account is
identified by a SHA-256 digest of their normalised email address.

Tokens expire (:data:`DEFAULT_MAX_AGE`: a year) so that a link found in an
old mailbox cannot be replayed forever; an expired token is reported as such
(the citizen can still change the preference from their account).

What the preference blocks: only *non-essential* messages (the template's
``essential: false`` — reminders, "invoice available", request progress,
account statements). Essential ones (security mails, acknowledgements,
decisions, receipts, the town's messages) are always sent, like GOV.UK
Notify's service messages.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .delivery import PermanentFailure

VERSION = "v1"
DEFAULT_MAX_AGE = timedelta(days=365)
CLOCK_SKEW = timedelta(minutes=5)
"""A token issued this far in the future is still accepted (replicas' clocks differ a little)."""
MIN_SECRET_BYTES = 32
_DOMAIN = b"guichet.notifications.unsubscribe."
_MAX_TOKEN_LENGTH = 512

ACCOUNT_PREFIX = "account:"
EMAIL_PREFIX = "email:"

UNSUBSCRIBED = "unsubscribed"
"""The ``failure_code`` of a non-essential notification not sent because its recipient opted out."""
UNSUBSCRIBED_REASON = "non envoyé : le destinataire s'est désinscrit des messages non essentiels"


class Unsubscribed(PermanentFailure):
    """A non-essential message to a recipient who opted out: not sent.

    Recorded as ``permanent-failure`` with the failure code ``unsubscribed``
    rather than under a new status: GOV.UK Notify's vocabulary has no
    "cancelled", and a suppressed recipient is, like a suppression list at a
    mail provider, a reason of the recipient's that no retry changes. Every
    consumer then already knows what to do: the ``notification.failed`` event
    (its contract's statuses unchanged) tells the sender, the agents' search
    (``failed=true``, ``status=permanent-failure``) lists it with its French
    reason, and nobody retries it.
    """

    def __init__(self):
        super().__init__(UNSUBSCRIBED, UNSUBSCRIBED_REASON)


class InvalidUnsubscribeToken(ValueError):
    """Malformed, tampered with, or signed with an unknown secret."""


class ExpiredUnsubscribeToken(InvalidUnsubscribeToken):
    """Correctly signed but older than the maximum age."""


def address_digest(address: str) -> str:
    """SHA-256 (hex) of an email address, trimmed and lower-cased."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def recipient_key(account_id: str | None = None, email: str | None = None) -> str | None:
    """Whose preference applies: the account when there is one, else the email address (digested).

    ``None`` when neither is known (an SMS to a bare phone number: no link can be sent to it)."""
    if account_id:
        return ACCOUNT_PREFIX + account_id
    if email and email.strip():
        return EMAIL_PREFIX + address_digest(email)
    return None


def blocked(*, essential: bool, receives_non_essential: bool) -> bool:
    """Whether a message must not be sent: non-essential, to a recipient who opted out."""
    return not essential and not receives_non_essential


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise InvalidUnsubscribeToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidUnsubscribeToken("not base64url") from None


class UnsubscribeTokens:
    """Issues and verifies unsubscribe tokens."""

    def __init__(self, secrets: Sequence[bytes], *, max_age: timedelta = DEFAULT_MAX_AGE):
        secrets = [bytes(s) for s in secrets]
        if not secrets:
            raise ValueError("at least one secret is needed")
        if any(len(s) < MIN_SECRET_BYTES for s in secrets):
            raise ValueError(f"an unsubscribe secret must have at least {MIN_SECRET_BYTES} bytes")
        if max_age <= timedelta(0):
            raise ValueError("max_age must be positive")
        self._secrets = secrets
        self.max_age = max_age

    @staticmethod
    def _sign(secret: bytes, signed: bytes) -> bytes:
        return hmac.new(secret, _DOMAIN + signed, hashlib.sha256).digest()

    def issue(self, recipient: str, now: datetime) -> str:
        if not recipient or not recipient.startswith((ACCOUNT_PREFIX, EMAIL_PREFIX)):
            raise ValueError("unknown recipient key")
        payload = _b64(json.dumps({"r": recipient, "t": int(now.timestamp())}, separators=(",", ":"),
                                  ensure_ascii=True).encode("ascii"))
        signed = f"{VERSION}.{payload}".encode("ascii")
        return f"{VERSION}.{payload}.{_b64(self._sign(self._secrets[0], signed))}"

    def verify(self, token, now: datetime) -> str:
        """The recipient key of a valid token; :class:`InvalidUnsubscribeToken` or
        :class:`ExpiredUnsubscribeToken` otherwise. The signature is checked
        (in constant time) before anything of the payload is believed."""
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidUnsubscribeToken("not a token")
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise InvalidUnsubscribeToken("unknown format")
        signature = _unb64(parts[2])
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not any(hmac.compare_digest(signature, self._sign(secret, signed)) for secret in self._secrets):
            raise InvalidUnsubscribeToken("bad signature")
        try:
            data = json.loads(_unb64(parts[1]))
            recipient, issued = data["r"], data["t"]
        except (ValueError, KeyError, TypeError):
            raise InvalidUnsubscribeToken("bad payload") from None
        if not isinstance(recipient, str) or not recipient.startswith((ACCOUNT_PREFIX, EMAIL_PREFIX)) \
                or not isinstance(issued, int) or isinstance(issued, bool):
            raise InvalidUnsubscribeToken("bad payload")
        issued_at = datetime.fromtimestamp(issued, timezone.utc)
        if issued_at > now + CLOCK_SKEW:
            raise InvalidUnsubscribeToken("issued in the future")
        if now - issued_at > self.max_age:
            raise ExpiredUnsubscribeToken("expired")
        return recipient


def link(base_url: str, token: str) -> str:
    """``base_url`` with ``token=<token>`` added to its query string (other parameters kept)."""
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def usable_one_click_url(url: str | None) -> bool:
    """RFC 8058 wants an https URL; plain http is accepted for a loopback host only (development)."""
    if not url:
        return False
    parts = urlsplit(url)
    if not parts.hostname or any(c in url for c in " <>,\"'"):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


PREVIEW_URL = "https://example.invalid/desinscription"
"""The link a template preview shows when the town has no one-click URL."""


@dataclass
class UnsubscribeLinks:
    """How a non-essential email lets its recipient out: the one-click base ``url`` (None: no usable one), the
    ``mailto`` of List-Unsubscribe, and the ``tokens`` signing each recipient's link (None: the bare URL)."""

    url: str | None = None
    mailto: str | None = None
    tokens: UnsubscribeTokens | None = None

    @property
    def available(self) -> bool:
        """Whether a non-essential email can be sent at all (RFC 8058 link or mailto)."""
        return bool(self.url or self.mailto)

    def link_for(self, account_id: str | None, address: str | None, now: datetime) -> str | None:
        """The recipient's own one-click link; the bare URL when no token can be made."""
        if not self.url:
            return None
        key = recipient_key(account_id, address)
        if self.tokens is None or key is None:
            return self.url
        return link(self.url, self.tokens.issue(key, now))

    def preview_link(self) -> str:
        return link(self.url or PREVIEW_URL, "APERCU")
