"""Delivery statuses, failures, retries, channel choice.

Statuses (GOV.UK Notify's vocabulary)::

    created ──attempt──┬─> sending ──receipt──> delivered | temporary-failure | permanent-failure
                       ├─> sent        accepted; no receipt will come (SMTP relay, receipt-less
                       │               SMS route). A late bounce may still give permanent-failure.
                       ├─> delivered   accepted and confirmed at once (test mode, dev provider)
                       ├─> temporary-failure   the attempt failed for a reason that may pass
                       │                       (SMTP 4xx, timeout, provider 5xx): retried
                       │                       with backoff until max attempts, then final
                       ├─> permanent-failure   the address or the content is the problem
                       │                       (SMTP 5xx, invalid number): never retried
                       └─> technical-failure   a fault of ours (bug, bad template data
                                               discovered late): final unless an agent resends

A notification stays ``created`` while a provider call is in flight: a crash
there means one more attempt later (at-least-once, as every mail system).

Failures are raised by the adapters as :class:`TemporaryFailure` /
:class:`PermanentFailure` (``code`` stable, ``detail`` free of personal
data): they classify their own I/O errors (``adapters/failures.py``), so
nothing here knows SMTP, sockets or HTTP; :func:`as_failure` makes any other
exception a technical failure.
"""
from __future__ import annotations

import enum
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from guichet_common.transitions import Transitions
from guichet_contracts import types


class NotificationStatus(str, enum.Enum):
    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"

    def __str__(self) -> str:  # so f-strings and JSON give the Notify spelling
        return self.value


S = NotificationStatus

# from -> the statuses it may move to
TRANSITIONS: dict[NotificationStatus, frozenset[NotificationStatus]] = {
    S.CREATED: frozenset({S.SENDING, S.SENT, S.DELIVERED, S.TEMPORARY_FAILURE,
                          S.PERMANENT_FAILURE, S.TECHNICAL_FAILURE}),
    # a new attempt after a temporary failure ends like a first one; an agent
    # may also requeue a notification that gave up
    S.TEMPORARY_FAILURE: frozenset({S.SENDING, S.SENT, S.DELIVERED, S.TEMPORARY_FAILURE,
                                    S.PERMANENT_FAILURE, S.TECHNICAL_FAILURE, S.CREATED}),
    # delivery receipt, or the receipt timeout (Notify: temporary-failure after 72 h)
    S.SENDING: frozenset({S.DELIVERED, S.TEMPORARY_FAILURE, S.PERMANENT_FAILURE}),
    # a late receipt or bounce
    S.SENT: frozenset({S.DELIVERED, S.PERMANENT_FAILURE}),
    # a bounce after a delivery report (mail systems do that)
    S.DELIVERED: frozenset({S.PERMANENT_FAILURE}),
    S.PERMANENT_FAILURE: frozenset(),
    # an agent's resend after the fault was fixed
    S.TECHNICAL_FAILURE: frozenset({S.CREATED}),
}

SUCCESS_STATUSES = frozenset({S.SENDING, S.SENT, S.DELIVERED})
FAILURE_STATUSES = frozenset({S.TEMPORARY_FAILURE, S.PERMANENT_FAILURE, S.TECHNICAL_FAILURE})


DELIVERY = Transitions(TRANSITIONS, name="notification")
"""The table as the chassis' guarded status change uses it (``guichet_common.transitions``)."""


def can_transition(current: NotificationStatus | str, new: NotificationStatus | str) -> bool:
    return DELIVERY.can(current, new)


def check_transition(current: NotificationStatus | str, new: NotificationStatus | str) -> NotificationStatus:
    """``new`` as a status, or :class:`~guichet_common.transitions.IllegalTransition`."""
    DELIVERY.check(current, new)
    return NotificationStatus(new)


def outcome_event(row: Mapping[str, Any]) -> tuple[str, dict, str]:
    """The event telling the sender what became of a notification: ``(type, data, subject)``.

    Accepted (``sending``, ``sent``, ``delivered``) is ``notification.delivered`` (``sending`` reported as
    ``sent``: the contract's statuses), anything else ``notification.failed`` with its failure code."""
    delivered = row["status"] in (S.SENT.value, S.DELIVERED.value, S.SENDING.value)
    status = S.SENT.value if row["status"] == S.SENDING.value else row["status"]
    data = {"notification_id": row["id"], "template": row["template"][:100], "channel": row.get("channel"),
            "status": status, "reference": row.get("reference"),
            "failure_code": None if delivered else row.get("failure_code")}
    return (types.NOTIFICATION_DELIVERED if delivered else types.NOTIFICATION_FAILED), data, \
        f"notification/{row['id']}"


# --- failures -------------------------------------------------------------------

class DeliveryFailure(Exception):
    """Base of the errors a client raises. ``code``: stable, machine-readable;
    ``detail``: for agents and logs, with addresses and numbers removed."""

    status: NotificationStatus = S.TECHNICAL_FAILURE

    def __init__(self, code: str, detail: str = "", *, provider: str | None = None,
                 smtp_code: int | None = None, http_status: int | None = None):
        self.code = code
        self.detail = redact(detail)
        self.provider = provider
        self.smtp_code = smtp_code
        self.http_status = http_status
        super().__init__(f"{code}: {self.detail}" if self.detail else code)


class TemporaryFailure(DeliveryFailure):
    """May succeed later or with another provider: retried with backoff."""

    status = S.TEMPORARY_FAILURE

    def __init__(self, code: str, detail: str = "", *, retry_after: float | None = None, **kw):
        super().__init__(code, detail, **kw)
        self.retry_after = retry_after


class PermanentFailure(DeliveryFailure):
    """Will fail again: never retried.

    ``provider_specific`` is true when one provider refuses the message for a
    reason of its own (an unsupported option, a refused sender name): another
    provider may still take it. When false the recipient or the content is at
    fault (invalid number, mailbox unknown) and failover stops.
    """

    status = S.PERMANENT_FAILURE

    def __init__(self, code: str, detail: str = "", *, provider_specific: bool = False, **kw):
        super().__init__(code, detail, **kw)
        self.provider_specific = provider_specific


class TechnicalFailure(DeliveryFailure):
    """Our fault (bug, impossible input discovered while sending)."""

    status = S.TECHNICAL_FAILURE


class ContactUnknown(TemporaryFailure):
    """The account's contact details have not arrived yet (commands are not ordered): retried."""

    def __init__(self):
        super().__init__("contact_unknown", "coordonnées du compte pas encore reçues")


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+|\b0)\d(?:[ .\-]?\d){7,13}\b")


def redact(text: str, limit: int = 300) -> str:
    """``text`` without email addresses or phone numbers, shortened (no PII in reasons)."""
    text = " ".join(str(text).split())
    text = _EMAIL.sub("<adresse>", text)
    text = _PHONE.sub("<numéro>", text)
    return text[:limit]


def as_failure(error: BaseException) -> DeliveryFailure:
    """``error`` when it is a :class:`DeliveryFailure` (the adapters classify their own I/O errors), else a
    technical failure: an exception of any other kind is a bug of ours, not retried automatically."""
    if isinstance(error, DeliveryFailure):
        return error
    return TechnicalFailure("unexpected_error", f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class SendReceipt:
    """A provider accepted a message. ``status`` is ``sending`` when a delivery
    receipt will follow, ``sent`` when none will, ``delivered`` in test mode."""

    provider: str
    reference: str | None
    status: NotificationStatus = S.SENT
    detail: str = ""
    """The provider's answer (e.g. ``250 2.0.0 Ok: queued as 4F3A2``), for agents."""


# --- retries --------------------------------------------------------------------

@dataclass(frozen=True)
class RetryDecision:
    status: NotificationStatus
    retry_at: datetime | None
    delay: float | None
    reason: str

    @property
    def retry(self) -> bool:
        return self.retry_at is not None


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter.

    Delay before attempt ``n + 1`` (``n`` attempts made, ``n >= 1``)::

        min(max_delay, base_delay * multiplier ** (n - 1)) * uniform(1 - jitter, 1 + jitter)

    floored by the provider's ``Retry-After`` when it gave one. The defaults
    (30 s, ×3, capped at 1 h, 8 attempts) spread attempts over about 3 hours:
    long enough for greylisting, a full mailbox or a provider incident.
    """

    max_attempts: int = 8
    base_delay: float = 30.0
    multiplier: float = 3.0
    max_delay: float = 3600.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self):
        if self.max_attempts < 1 or self.base_delay < 0 or self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("invalid retry policy")

    def nominal_delay(self, attempts_made: int) -> float:
        """The delay without jitter after ``attempts_made`` attempts."""
        if attempts_made < 1:
            raise ValueError("attempts_made starts at 1")
        return min(self.max_delay, self.base_delay * self.multiplier ** (attempts_made - 1))

    def delay(self, attempts_made: int, *, retry_after: float | None = None) -> float:
        nominal = self.nominal_delay(attempts_made)
        jittered = nominal * self.rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else nominal
        if retry_after is not None:
            jittered = max(jittered, float(retry_after))
        return jittered

    def schedule(self) -> list[float]:
        """Nominal delays between all attempts (for documentation and tests)."""
        return [self.nominal_delay(n) for n in range(1, self.max_attempts)]

    def decide(self, failure: BaseException, attempts_made: int, now: datetime) -> RetryDecision:
        """What to do after attempt number ``attempts_made`` failed with ``failure``."""
        failure = as_failure(failure)
        reason = str(failure)
        if isinstance(failure, TemporaryFailure):
            if attempts_made < self.max_attempts:
                delay = self.delay(attempts_made, retry_after=failure.retry_after)
                return RetryDecision(S.TEMPORARY_FAILURE, now + timedelta(seconds=delay), delay, reason)
            return RetryDecision(S.TEMPORARY_FAILURE, None, None,
                                 f"{reason} (abandon après {attempts_made} tentatives)")
        return RetryDecision(failure.status, None, None, reason)


# --- channel choice -------------------------------------------------------------

EMAIL = "email"
SMS = "sms"
PREFERENCES = ("email", "phone", "sms")


@dataclass(frozen=True)
class ContactPoints:
    """What the contact directory knows of a recipient (local copy of accounts' data)."""

    email: str | None = None
    phone_mobile: str | None = None
    phone_personal: str | None = None
    preference: str = "email"

    def __post_init__(self):
        if self.preference not in PREFERENCES:
            raise ValueError(f"unknown communication preference {self.preference!r}")


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    address: str  # email address or E.164 number
    reason: str   # why this channel (for the delivery record)


class NoChannel(PermanentFailure):
    """No channel can reach the recipient for this template (a permanent failure)."""


def _sms_number(contact: ContactPoints, *, allow_international: bool) -> str | None:
    from .sms import InvalidPhoneNumber, normalise_phone
    for raw in (contact.phone_mobile, contact.phone_personal):
        if raw:
            try:
                return normalise_phone(raw, mobile_only=True, allow_international=allow_international)
            except InvalidPhoneNumber:
                continue
    return None


def choose_channel(template_channels: Iterable[str], contact: ContactPoints, *, security: bool = False,
                   forced: str | None = None, allow_international: bool = False) -> ChannelChoice:
    """The channel and address to use, honouring the recipient's preference.

    * security mails (activation, reset, login reminder) go by email, always;
    * a channel forced by the sender is used if the template has it and the
      recipient an address for it, otherwise nothing is sent;
    * preference ``sms``: SMS when the template has an SMS version and the
      recipient a mobile number, else email;
    * preference ``email``: email when possible, else SMS;
    * preference ``phone`` (the town calls the citizen): a written trace
      still goes out, by email when possible, else SMS.

    Raises :class:`NoChannel` (a permanent failure with a clear code).
    """
    channels = set(template_channels)
    email = contact.email.strip() if contact.email and contact.email.strip() else None
    if security:
        if EMAIL not in channels:
            raise NoChannel("template_not_email", "un message de sécurité ne part que par courriel")
        if not email:
            raise NoChannel("no_email_address", "aucune adresse électronique pour un message de sécurité")
        return ChannelChoice(EMAIL, email, "security")
    number = _sms_number(contact, allow_international=allow_international) if SMS in channels else None
    available = {EMAIL: email if EMAIL in channels else None, SMS: number}
    if forced:
        if forced not in channels:
            raise NoChannel("channel_not_in_template", f"le modèle n'existe pas pour le canal {forced}")
        if not available.get(forced):
            code = "no_email_address" if forced == EMAIL else "no_mobile_number"
            raise NoChannel(code, f"aucune adresse pour le canal imposé {forced}")
        return ChannelChoice(forced, available[forced], "forced")
    order = [SMS, EMAIL] if contact.preference == "sms" else [EMAIL, SMS]
    for channel in order:
        if available[channel]:
            first = channel == order[0]
            return ChannelChoice(channel, available[channel],
                                 f"preference:{contact.preference}" if first else f"fallback:{channel}")
    if channels == {SMS}:
        raise NoChannel("no_mobile_number", "aucun numéro de mobile valide pour un modèle SMS")
    if channels == {EMAIL}:
        raise NoChannel("no_email_address", "aucune adresse électronique pour un modèle courriel")
    raise NoChannel("no_contact_address", "ni adresse électronique ni numéro de mobile valide")
