"""Email messages: what a rendered email for one recipient is, who sends it, and its MIME form.

Messages are built with :class:`email.message.EmailMessage` (policy
``SMTP``: CRLF line ends, 78-character lines):

* ``From: "Ville de Roubaix" <ne-pas-repondre@ville.example>``, optional
  ``Reply-To``; the SMTP envelope sender may differ (a bounce address);
* ``Message-ID`` (:func:`email.utils.make_msgid`, the configured domain, the
  notification id in it), ``Date`` in UTC;
* ``Auto-Submitted: auto-generated`` (RFC 3834) so that out-of-office robots
  do not answer a no-reply address;
* ``List-Unsubscribe`` (RFC 2369) and ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` (RFC 8058) on non-essential messages only
  (the link carries the recipient's signed token, see
  :mod:`guichet_notifications.domain.unsubscribe`); essential ones (security, acknowledgements, decisions,
  receipts) never carry them, and a non-essential message without an unsubscribe link is
  refused (a bug of the caller);
* ``multipart/alternative`` (text, HTML), wrapped in ``multipart/mixed`` when
  there are attachments (the PDF receipt).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid

from ..domain.delivery import PermanentFailure, TechnicalFailure
from ..domain.unsubscribe import usable_one_click_url


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/pdf"

    def __post_init__(self):
        if "/" not in self.content_type:
            raise ValueError("content_type must be type/subtype")
        if not self.filename or any(c in self.filename for c in "\r\n/\\"):
            raise ValueError("invalid attachment file name")


@dataclass(frozen=True)
class OutgoingEmail:
    """A rendered email for one recipient."""

    to: str
    subject: str
    text: str
    html: str | None = None
    essential: bool = True
    reference: str | None = None
    """The notification id: in the Message-ID and an ``X-Guichet-Notification`` header."""
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def from_rendered(cls, to: str, rendered, *, essential: bool, reference: str | None = None,
                      unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None,
                      attachments: tuple[Attachment, ...] = ()) -> "OutgoingEmail":
        """From a :class:`~guichet_notifications.domain.templates.RenderedEmail`;
        ``essential`` is the template's flag. The unsubscribe link is dropped
        for essential messages, so the header and the footer always agree."""
        return cls(to=to, subject=rendered.subject, text=rendered.text, html=rendered.html, essential=essential,
                   reference=reference, unsubscribe_url=None if essential else unsubscribe_url,
                   unsubscribe_mailto=None if essential else unsubscribe_mailto, attachments=tuple(attachments))


@dataclass(frozen=True)
class EmailIdentity:
    """Who the town's messages come from."""

    address: str
    name: str
    reply_to: str | None = None
    message_id_domain: str | None = None
    envelope_from: str | None = None
    """SMTP ``MAIL FROM`` (where bounces go); default: ``address``."""

    def __post_init__(self):
        validate_email_address(self.address)
        if self.reply_to:
            validate_email_address(self.reply_to)
        if self.envelope_from:
            validate_email_address(self.envelope_from)
        if "\n" in self.name or "\r" in self.name:
            raise ValueError("sender name must be one line")

    @property
    def msgid_domain(self) -> str:
        return self.message_id_domain or self.address.rsplit("@", 1)[1]


class _WirePolicy(EmailPolicy):
    """``email.policy.SMTP`` without one folding quirk: when a header value
    does not fit after ``Name:`` but fits on a continuation line, CPython
    breaks the line right after the colon, and parsers (Python's own
    included) then read the value with a leading space. Such a value is put
    back after the colon: the line stays far below RFC 5322's 998 limit and
    encoded words keep their 75-character limit."""

    def fold(self, name, value):
        folded = super().fold(name, value)
        prefix = f"{name}:{self.linesep} "
        return f"{name}: {folded[len(prefix):]}" if folded.startswith(prefix) else folded

    def fold_binary(self, name, value):
        folded = super().fold_binary(name, value)
        prefix = f"{name}:{self.linesep} ".encode("ascii")
        return name.encode("ascii") + b": " + folded[len(prefix):] if folded.startswith(prefix) else folded


_WIRE_POLICY = _WirePolicy(linesep="\r\n")

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class InvalidEmailAddress(PermanentFailure):
    def __init__(self, detail: str):
        super().__init__("invalid_email_address", detail)


def validate_email_address(address) -> str:
    """The address, its domain in ASCII (IDNA), or :class:`InvalidEmailAddress`.

    Deliberately strict, like GOV.UK Notify: dot-atom local part, a domain
    with a dot and valid labels, RFC 5321 lengths."""
    if not isinstance(address, str):
        raise InvalidEmailAddress("adresse électronique manquante")
    address = address.strip()
    if address.count("@") != 1:
        raise InvalidEmailAddress("adresse électronique invalide")
    local, domain = address.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise InvalidEmailAddress("adresse électronique invalide (partie avant @)")
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEmailAddress("adresse électronique invalide (domaine)") from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InvalidEmailAddress("adresse électronique invalide (domaine)")
    address = f"{local}@{domain}"
    if len(address) > 254:
        raise InvalidEmailAddress("adresse électronique trop longue")
    return address


def build_message(email: OutgoingEmail, identity: EmailIdentity, *,
                  now: datetime | None = None) -> EmailMessage:
    """The MIME message for ``email`` (see the module documentation)."""
    to = validate_email_address(email.to)
    if not email.essential and not (email.unsubscribe_url or email.unsubscribe_mailto):
        raise TechnicalFailure("missing_unsubscribe", "a non-essential email needs an unsubscribe link")
    if email.unsubscribe_url and not usable_one_click_url(email.unsubscribe_url):
        raise TechnicalFailure("invalid_unsubscribe_url", "the unsubscribe link must be an https URL "
                                                          "(http only for a loopback host, in development)")
    subject = " ".join(email.subject.split())
    if not subject:
        raise TechnicalFailure("empty_subject", "empty subject")

    msg = EmailMessage(policy=_WIRE_POLICY)
    local, domain = identity.address.rsplit("@", 1)
    msg["From"] = Address(display_name=identity.name, username=local, domain=domain)
    msg["To"] = Address(addr_spec=to)
    if identity.reply_to:
        msg["Reply-To"] = identity.reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now or datetime.now(timezone.utc))
    idstring = re.sub(r"[^A-Za-z0-9.-]", "", email.reference or "")[:64] or None
    msg["Message-ID"] = make_msgid(idstring=idstring, domain=identity.msgid_domain)
    msg["Auto-Submitted"] = "auto-generated"
    if email.reference:
        msg["X-Guichet-Notification"] = re.sub(r"[\r\n]", "", email.reference)[:100]
    if not email.essential:
        targets = []
        if email.unsubscribe_url:
            targets.append(f"<{email.unsubscribe_url}>")
        if email.unsubscribe_mailto:
            targets.append(f"<mailto:{validate_email_address(email.unsubscribe_mailto)}?subject=unsubscribe>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        if email.unsubscribe_url:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    msg.set_content(email.text, subtype="plain", charset="utf-8")
    if email.html:
        msg.add_alternative(email.html, subtype="html", charset="utf-8")
    for attachment in email.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        msg.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return msg
