"""SMS delivery reports: what a provider's report means for a notification's status, and its proof.

A provider that accepted an SMS later reports what became of it. Brevo posts
one JSON object per event of a transactional SMS to the message's ``webUrl``
(Brevo's "Transactional SMS" webhook)::

    {"id": 26570, "to": "33612345678", "sms_count": 1, "credits_used": 1.5,
     "messageId": 1511882900176220, "reference": "ab1cde2fgh3i4jklmno",
     "remaining_credit": 11488.8, "msg_status": "delivered", "date": "2026-03-02 10:15:02",
     "type": "transactional", "tag": "guichet"}

``messageId`` is the id Brevo's send answer gave (and that Guichet stored as
the notification's ``provider_reference``), ``reference`` Brevo's other id of
the same message; ``msg_status`` (also spelled as the event names of Brevo's
SMS event report, ``hardBounce``…) is one of:

========================================  =====================================================
provider status                           notification status
========================================  =====================================================
``delivered``                             ``delivered``
``hard_bounce``, ``rejected``,            ``permanent-failure`` (the number does not take SMS,
``blocked``, ``blacklisted``,             the operator refused it, or the recipient sent STOP):
``unsubscribe(d)``                        never retried, a French reason for agents
``soft_bounce``                           ``temporary-failure`` (phone off or out of reach until
                                          the message expired) when the SMS was ``sending``;
                                          not retried automatically (a later ``delivered`` still
                                          counts, an agent may resend). After ``sent`` the
                                          domain allows no such change: stays ``sent``.
``sent``, ``accepted``, ``request``,      nothing: the notification is already ``sending`` /
``skip``, ``replied`` and anything else   ``sent``; an unknown word changes nothing either
========================================  =====================================================

Like GOV.UK Notify's SMS statuses (``delivered``, ``permanent-failure`` for a
number that does not exist, ``temporary-failure`` for a phone off too long).
Only changes :data:`~.delivery.TRANSITIONS` allows are made; a report that
repeats the current status, or comes after a final one it cannot change,
is acknowledged and changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from .delivery import NotificationStatus as S
from .delivery import can_transition


@dataclass(frozen=True)
class ReportOutcome:
    """What a provider status means: ``status`` None when it changes nothing."""

    provider_status: str
    status: S | None
    code: str | None = None
    reason: str | None = None


_DELIVERED = (S.DELIVERED, None, None)
_HARD_BOUNCE = (S.PERMANENT_FAILURE, "sms_hard_bounce",
                "SMS non remis : numéro inexistant, inactif ou ne recevant pas de SMS (rejet définitif de l'opérateur)")
_REJECTED = (S.PERMANENT_FAILURE, "sms_rejected", "SMS refusé par le fournisseur ou l'opérateur")
_BLOCKED = (S.PERMANENT_FAILURE, "sms_blocked",
            "SMS non remis : le destinataire a bloqué les SMS de cet expéditeur (STOP)")
_SOFT_BOUNCE = (S.TEMPORARY_FAILURE, "sms_soft_bounce",
                "SMS non remis : téléphone éteint ou hors réseau jusqu'à l'expiration du message")

BREVO_STATUSES: dict[str, tuple[S, str | None, str | None]] = {
    "delivered": _DELIVERED,
    "hard_bounce": _HARD_BOUNCE, "hardbounce": _HARD_BOUNCE,
    "rejected": _REJECTED,
    "blocked": _BLOCKED, "blacklisted": _BLOCKED, "unsubscribe": _BLOCKED, "unsubscribed": _BLOCKED,
    "soft_bounce": _SOFT_BOUNCE, "softbounce": _SOFT_BOUNCE,
}


def brevo_outcome(provider_status: str) -> ReportOutcome:
    """The meaning of a Brevo ``msg_status`` (case and ``_`` / camelCase spellings alike)."""
    word = str(provider_status or "").strip().lower()
    status, code, reason = BREVO_STATUSES.get(word, (None, None, None))
    return ReportOutcome(word[:50], status, code, reason)


def brevo_references(report: dict) -> list[str]:
    """The ids a Brevo report names its message by, the stored one (``messageId``) first."""
    found = []
    for key in ("messageId", "reference"):
        value = report.get(key)
        if isinstance(value, bool) or value in (None, ""):
            continue
        if isinstance(value, (int, str)):
            text = str(value).strip()[:255]
            if text and text not in found:
                found.append(text)
    return found


REPORTABLE = frozenset({S.SENDING, S.SENT, S.DELIVERED, S.TEMPORARY_FAILURE})
"""Statuses a report may change: the SMS was accepted by the provider (a ``temporary-failure`` only once it
is final, i.e. no retry is scheduled: checked by the caller)."""


def new_status(current: S | str, outcome: ReportOutcome) -> S | None:
    """The status the report moves the notification to, or None (no meaning, a repeat, not allowed)."""
    current = S(current)
    if outcome.status is None or outcome.status == current or current not in REPORTABLE:
        return None
    return outcome.status if can_transition(current, outcome.status) else None


RECEIPT_TIMEOUT = dt.timedelta(hours=72)
"""An SMS still ``sending`` this long after the provider accepted it gets no report any more (GOV.UK Notify's
rule): it becomes a temporary failure, so that agents see it among the failed ones."""
NO_RECEIPT = "no_receipt"


def no_receipt_reason(timeout: dt.timedelta) -> str:
    return f"aucun compte rendu de remise du fournisseur en {int(timeout.total_seconds() // 3600)} heures"


# --- the provider's proof -----------------------------------------------------------------
# An HTTP provider posts its reports to the gateway route ROUTE/<provider name>, the provider's report secret in
# the ``token`` query parameter of the callback URL given with each SMS (Brevo's per-message ``webUrl`` can carry
# no header; the gateway's access log leaves query strings out). The gateway forwards the report to the
# ``sms_delivery_report`` RPC, which checks the secret (settings: ``report_secret_env`` of the provider entry).

ROUTE = "/api/v1/notifications/sms-reports"
TOKEN_PARAMETER = "token"


def token_matches(secrets, token) -> bool:
    """Whether ``token`` is one of ``secrets``; every secret is compared, each in constant time."""
    if not isinstance(token, str) or not token:
        return False
    given = token.encode("utf-8")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, secret.encode("utf-8"))
    return matched


def default_report_url(public_url: str, name: str) -> str:
    """The gateway route of ``name``'s reports under the town's ``public_url``."""
    return f"{public_url.rstrip('/')}{ROUTE}/{quote(name, safe='')}"


def callback_url(report_url: str, secret: str) -> str:
    """``report_url`` with the secret as its ``token`` query parameter: what the provider is given."""
    separator = "&" if "?" in report_url else "?"
    return f"{report_url}{separator}{TOKEN_PARAMETER}={quote(secret, safe='')}"
