"""Email clients: the interface, SMTP delivery, test mode and a rate limit (the messages themselves are
built by :mod:`.email_message`, re-exported here).

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
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Callable

from ..domain.delivery import NotificationStatus, PermanentFailure, SendReceipt, TemporaryFailure
from ..domain.rate_limit import RateLimiter
from .email_message import (
    Attachment,
    EmailIdentity,
    InvalidEmailAddress,
    OutgoingEmail,
    build_message,
    validate_email_address,
)
from .failures import classify


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
