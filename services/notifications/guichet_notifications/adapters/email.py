"""Email clients: the interface, SMTP delivery and a test-mode client.

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
  :mod:`guichet_notifications.domain.unsubscribe`); essential ones (security, acknowledgements, decisions, receipts) never
  carry them, and a non-essential message without an unsubscribe link is
  refused (a bug of the caller);
* ``multipart/alternative`` (text, HTML), wrapped in ``multipart/mixed`` when
  there are attachments (the PDF receipt).

:class:`SmtpEmailClient` keeps a few connections open between messages
(checked with ``NOOP`` after an idle time) and maps every failure to
:class:`TemporaryFailure` / :class:`PermanentFailure`:
problems while connecting, greeting, starting TLS or logging in are
temporary whatever the code (the server or our settings, not the message);
replies to ``MAIL``, ``RCPT`` and ``DATA`` follow 4xx temporary / 5xx
permanent.
"""
from __future__ import annotations

import abc
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from typing import Callable

from ..domain.delivery import (
    NotificationStatus,
    PermanentFailure,
    RateLimiter,
    SendReceipt,
    TechnicalFailure,
    TemporaryFailure,
)
from ..domain.unsubscribe import usable_one_click_url
from .failures import classify

# --- messages ----------------------------------------------------------------------


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


# --- clients -----------------------------------------------------------------------


class EmailClient(abc.ABC):
    """Sends one email. Returns a :class:`SendReceipt` (its ``reference`` is
    the Message-ID) or raises :class:`TemporaryFailure` / :class:`PermanentFailure`."""

    name: str = "email"

    @abc.abstractmethod
    def send(self, email: OutgoingEmail) -> SendReceipt:
        ...

    def close(self) -> None:
        """Release connections: nothing to release unless a client keeps some open."""
        return None


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    security: str = "starttls"
    """``starttls`` (submission, port 587), ``tls`` (implicit TLS, port 465) or ``none`` (local relay)."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    ca_file: str | None = None
    verify_tls: bool = True
    local_hostname: str | None = None
    max_idle_connections: int = 4
    idle_check_after: float = 5.0
    """Seconds of idleness after which a pooled connection is checked with NOOP."""
    name: str = "smtp"

    def __post_init__(self):
        if self.security not in ("starttls", "tls", "none"):
            raise ValueError("security must be starttls, tls or none")
        if not 0 < self.port < 65536:
            raise ValueError("invalid SMTP port")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if bool(self.username) != bool(self.password):
            raise ValueError("SMTP username and password go together")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class _DataReplyMixin:
    """Keeps the server's reply to DATA (it names the server's queue id)."""

    last_data_reply: tuple[int, bytes] | None = None

    def data(self, msg):  # noqa: D401 - smtplib API
        reply = super().data(msg)
        self.last_data_reply = reply
        return reply


class _SMTP(_DataReplyMixin, smtplib.SMTP):
    pass


class _SMTP_SSL(_DataReplyMixin, smtplib.SMTP_SSL):
    pass


@dataclass
class _Connection:
    smtp: smtplib.SMTP
    last_used: float


class SmtpEmailClient(EmailClient):
    """Delivery to an SMTP server (a relay, a submission service, a mail catcher)."""

    def __init__(self, config: SmtpConfig, identity: EmailIdentity, *,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] | None = None):
        self.config = config
        self.identity = identity
        self.name = config.name
        self._clock = clock
        self._now = now
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    # connections ---------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp = None
        try:
            if cfg.security == "tls":
                smtp = _SMTP_SSL(cfg.host, cfg.port, local_hostname=cfg.local_hostname, timeout=cfg.timeout,
                                 context=cfg.ssl_context())
            else:
                smtp = _SMTP(cfg.host, cfg.port, local_hostname=cfg.local_hostname, timeout=cfg.timeout)
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=cfg.ssl_context())
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, cfg.password)
            return smtp
        except Exception as error:
            if smtp is not None:
                _quietly_close(smtp)
            failure = classify(error, provider=self.name)
            if isinstance(failure, PermanentFailure):
                # a 5xx while connecting or logging in is about the server or
                # our settings, never about this message: try again later
                failure = TemporaryFailure("smtp_connection_refused", failure.detail, provider=self.name,
                                           smtp_code=failure.smtp_code)
            raise failure from error

    def _acquire(self) -> smtplib.SMTP:
        while True:
            with self._lock:
                pooled = self._idle.pop() if self._idle else None
            if pooled is None:
                return self._connect()
            if self._clock() - pooled.last_used < self.config.idle_check_after:
                return pooled.smtp
            try:
                if pooled.smtp.noop()[0] == 250:
                    return pooled.smtp
            except (smtplib.SMTPException, OSError):
                pass
            _quietly_close(pooled.smtp)

    def _release(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.config.max_idle_connections:
                self._idle.append(_Connection(smtp, self._clock()))
                return
        _quietly_close(smtp)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            try:
                connection.smtp.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(connection.smtp)

    # sending -------------------------------------------------------------------
    def send(self, email: OutgoingEmail) -> SendReceipt:
        msg = build_message(email, self.identity, now=self._now() if self._now else None)
        envelope_from = self.identity.envelope_from or self.identity.address
        smtp = self._acquire()
        try:
            smtp.last_data_reply = None
            smtp.send_message(msg, from_addr=envelope_from, to_addrs=[validate_email_address(email.to)])
        except BaseException as error:
            _quietly_close(smtp)
            failure = classify(error, provider=self.name)
            if isinstance(error, (KeyboardInterrupt, SystemExit)) or failure is error:
                raise
            raise failure from error
        reply = getattr(smtp, "last_data_reply", None)
        self._release(smtp)
        detail = ""
        if reply:
            text = reply[1].decode("utf-8", "replace") if isinstance(reply[1], bytes) else str(reply[1])
            detail = f"{reply[0]} {text}"[:200]
        return SendReceipt(provider=self.name, reference=msg["Message-ID"], status=NotificationStatus.SENT,
                           detail=detail)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass


class RecordingEmailClient(EmailClient):
    """Test mode: builds every message exactly as for real, sends nothing,
    records everything (``outbox``: ``(OutgoingEmail, EmailMessage)`` pairs)
    and reports it delivered — as GOV.UK Notify's test API keys do.

    ``failures``: exceptions to raise on the next sends, in order (tests of
    retries without a server).
    """

    def __init__(self, identity: EmailIdentity, *, name: str = "test-mode",
                 failures: list[BaseException] | None = None):
        self.identity = identity
        self.name = name
        self.outbox: list[tuple[OutgoingEmail, EmailMessage]] = []
        self.failures = list(failures or [])
        self._lock = threading.Lock()

    def send(self, email: OutgoingEmail) -> SendReceipt:
        msg = build_message(email, self.identity)
        with self._lock:
            if self.failures:
                raise classify(self.failures.pop(0), provider=self.name)
            self.outbox.append((email, msg))
        return SendReceipt(provider=self.name, reference=msg["Message-ID"], status=NotificationStatus.DELIVERED)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [msg for _email, msg in self.outbox]


class TestModeEmailClient(RecordingEmailClient):
    """Test mode in a long-running process: builds and records, keeps only the last messages in memory."""

    keep = 100

    def send(self, email: OutgoingEmail) -> SendReceipt:
        receipt = super().send(email)
        with self._lock:
            del self.outbox[:-self.keep]
        return receipt


class RateLimitedEmailClient(EmailClient):
    """Puts a provider behind its :class:`RateLimiter`: waits up to
    ``max_wait`` seconds for a token, else a temporary failure carrying the
    wait as ``retry_after``."""

    def __init__(self, client: EmailClient, limiter: RateLimiter, *, max_wait: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.client = client
        self.limiter = limiter
        self.max_wait = max_wait
        self.sleep = sleep
        self.name = client.name

    def send(self, email: OutgoingEmail) -> SendReceipt:
        if not self.limiter.acquire(timeout=self.max_wait, sleep=self.sleep):
            raise TemporaryFailure("rate_limited", f"débit maximal atteint pour {self.name}",
                                   provider=self.name, retry_after=self.limiter.wait_time())
        return self.client.send(email)

    def close(self) -> None:
        self.client.close()


__all__ = [
    "Attachment", "EmailClient", "EmailIdentity", "InvalidEmailAddress", "OutgoingEmail",
    "RateLimitedEmailClient", "RecordingEmailClient", "SmtpConfig", "SmtpEmailClient", "TestModeEmailClient",
    "build_message",
    "validate_email_address",
]
