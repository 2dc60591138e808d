"""SMS clients: the interface, an HTTP provider, development and test-mode
clients, and failover between providers.

:class:`BrevoSmsClient` speaks Brevo's transactional SMS API (a French
provider widely used by French public bodies): ``POST
/v3/transactionalSMS/send`` with an ``api-key`` header and a JSON body
``{sender, recipient, content, type: "transactional", tag, webUrl,
unicodeEnabled}``; the answer is ``201 {"messageId": …}``; errors are
``{"code": "invalid_parameter", "message": "…"}`` with a 4xx status. The
endpoint is configurable (a proxy, a test double, another provider with the
same shape). :class:`HttpSmsClient` holds everything that is not specific to
one API (timeouts, status mapping), so adding OVHcloud or Twilio means
writing ``build_request`` / ``parse_reference`` / ``is_invalid_number``.

A read timeout is reported as a temporary failure although the provider may
have accepted the message: the retry may then deliver it twice. Providers
without an idempotency key leave no better choice (GOV.UK Notify has the same
trade-off); SMS are short and the alternative, losing a message, is worse.
"""
from __future__ import annotations

import abc
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import requests

from ..domain import sms as sms_domain
from ..domain.delivery import (
    DeliveryFailure,
    NotificationStatus,
    PermanentFailure,
    SendReceipt,
    TechnicalFailure,
    TemporaryFailure,
    redact,
)
from ..domain.rate_limit import RateLimiter
from .failures import classify, classify_http_status


@dataclass(frozen=True)
class OutgoingSms:
    """A rendered SMS for one recipient. ``to`` is in E.164 (see
    :func:`guichet_notifications.domain.sms.normalise_phone`)."""

    to: str
    text: str
    reference: str | None = None


_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def _check_sms(message: OutgoingSms) -> None:
    if not isinstance(message.to, str) or not _E164.match(message.to):
        raise PermanentFailure("invalid_phone_number", "numéro attendu au format international E.164")
    if not message.text:
        raise TechnicalFailure("empty_sms", "SMS vide")


class SmsClient(abc.ABC):
    """Sends one SMS: a :class:`SendReceipt`, or :class:`TemporaryFailure` /
    :class:`PermanentFailure` (``invalid_phone_number`` when the recipient's
    number is refused)."""

    name: str = "sms"

    @abc.abstractmethod
    def send(self, message: OutgoingSms) -> SendReceipt:
        ...


# --- HTTP providers -----------------------------------------------------------------

_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .-]{1,11}$|^\d{1,15}$")


@dataclass(frozen=True)
class HttpSmsConfig:
    endpoint: str
    api_key: str = field(repr=False)
    sender: str
    """Alphanumeric sender id shown on the phone (11 characters at most, a letter
    included), e.g. ``"ROUBAIX"``; or a number of at most 15 digits."""
    name: str = "brevo"
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    status_callback_url: str | None = None
    """Where the provider posts delivery receipts; without it a sent SMS ends as ``sent``."""
    tag: str | None = "guichet"
    verify_tls: bool = True

    def __post_init__(self):
        if not re.match(r"^https?://", self.endpoint or ""):
            raise ValueError("endpoint must be an http(s) URL")
        if not self.api_key:
            raise ValueError("api_key is required")
        if not _SENDER.match(self.sender or ""):
            raise ValueError("sender: 1 to 11 letters/digits (with a letter) or up to 15 digits")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.status_callback_url and not self.status_callback_url.startswith("https://"):
            raise ValueError("status_callback_url must be https")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class HttpSmsClient(SmsClient):
    """Common part of JSON-over-HTTP SMS providers."""

    def __init__(self, config: HttpSmsConfig, *, session: requests.Session | None = None):
        self.config = config
        self.name = config.name
        self.session = session or requests.Session()

    @abc.abstractmethod
    def build_request(self, message: OutgoingSms) -> dict[str, Any]:
        """Keyword arguments of :meth:`requests.Session.request` (method, url, headers, json…)."""

    @abc.abstractmethod
    def parse_reference(self, response: requests.Response) -> str | None:
        """The provider's message id from an accepted answer."""

    @abc.abstractmethod
    def is_invalid_number(self, response: requests.Response) -> bool:
        """Whether an error answer says the recipient's number is invalid."""

    def error_detail(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return redact(response.text[:200])
        if isinstance(body, dict):
            return redact(" ".join(str(body.get(k, "")) for k in ("code", "message") if body.get(k)))
        return ""

    def send(self, message: OutgoingSms) -> SendReceipt:
        _check_sms(message)
        kwargs = self.build_request(message)
        kwargs.setdefault("timeout", (self.config.connect_timeout, self.config.read_timeout))
        kwargs.setdefault("verify", self.config.verify_tls)
        try:
            response = self.session.request(**kwargs)
        except requests.RequestException as error:
            raise classify(error, provider=self.name) from error
        if 200 <= response.status_code < 300:
            try:
                reference = self.parse_reference(response)
            except (ValueError, KeyError, TypeError):
                reference = None  # accepted all the same: never resend an accepted SMS
            status = NotificationStatus.SENDING if self.config.status_callback_url else NotificationStatus.SENT
            return SendReceipt(provider=self.name, reference=reference, status=status,
                               detail=f"HTTP {response.status_code}")
        raise classify_http_status(response.status_code, self.error_detail(response), provider=self.name,
                                   invalid_number=self.is_invalid_number(response),
                                   retry_after=_retry_after(response))


class BrevoSmsClient(HttpSmsClient):
    """Brevo transactional SMS (``https://api.brevo.com/v3/transactionalSMS/send``)."""

    DEFAULT_ENDPOINT = "https://api.brevo.com/v3/transactionalSMS/send"
    _NUMBER_WORDS = re.compile(r"recipient|number|numéro|phone|mobile|msisdn", re.IGNORECASE)

    def build_request(self, message: OutgoingSms) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sender": self.config.sender,
            "recipient": message.to.lstrip("+"),
            "content": message.text,
            "type": "transactional",
            # we chose the encoding: GSM-7 text must not be "converted" by the provider,
            # UCS-2 text must be sent as such
            "unicodeEnabled": not sms_domain.is_gsm7(message.text),
        }
        if self.config.tag:
            body["tag"] = self.config.tag
        if self.config.status_callback_url:
            body["webUrl"] = self.config.status_callback_url
        return {
            "method": "POST",
            "url": self.config.endpoint,
            "headers": {"api-key": self.config.api_key, "accept": "application/json",
                        "content-type": "application/json"},
            "data": json.dumps(body, ensure_ascii=False).encode("utf-8"),
        }

    def parse_reference(self, response: requests.Response) -> str | None:
        body = response.json()
        value = body.get("messageId", body.get("reference"))
        return None if value is None else str(value)

    def is_invalid_number(self, response: requests.Response) -> bool:
        if response.status_code not in (400, 422):
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        if not isinstance(body, dict):
            return False
        return body.get("code") in ("invalid_parameter", "invalid_recipient") and \
            bool(self._NUMBER_WORDS.search(str(body.get("message", ""))))


# --- development and test mode --------------------------------------------------------

class FileSmsClient(SmsClient):
    """Development provider: appends one JSON line per SMS to a file that a
    person (or an end-to-end test) can read. The SMS counts as delivered."""

    def __init__(self, path: str | os.PathLike, *, name: str = "dev-file",
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.path = Path(path)
        self.name = name
        self._now = now
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendReceipt:
        _check_sms(message)
        info = sms_domain.analyse(message.text)
        reference = uuid.uuid4().hex
        line = json.dumps({
            "time": self._now().isoformat(), "provider": self.name, "reference": reference,
            "notification": message.reference, "to": message.to, "text": message.text,
            "encoding": info.encoding, "segments": info.segments,
        }, ensure_ascii=False)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
        except OSError as error:
            raise TemporaryFailure("dev_file_unwritable", f"{type(error).__name__}", provider=self.name) from error
        return SendReceipt(provider=self.name, reference=reference, status=NotificationStatus.DELIVERED)

    def read(self) -> list[dict]:
        """The SMS written so far (for tests and the development tools)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class RecordingSmsClient(SmsClient):
    """Test mode: records, sends nothing, reports delivered. ``failures``:
    exceptions to raise on the next sends, in order."""

    def __init__(self, *, name: str = "test-mode", failures: list[BaseException] | None = None):
        self.name = name
        self.sent: list[OutgoingSms] = []
        self.failures = list(failures or [])
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendReceipt:
        _check_sms(message)
        with self._lock:
            if self.failures:
                raise classify(self.failures.pop(0), provider=self.name)
            self.sent.append(message)
        return SendReceipt(provider=self.name, reference=uuid.uuid4().hex, status=NotificationStatus.DELIVERED)


class TestModeSmsClient(RecordingSmsClient):
    """Test mode in a long-running process: records, keeps only the last messages in memory."""

    keep = 100

    def send(self, message: OutgoingSms) -> SendReceipt:
        receipt = super().send(message)
        with self._lock:
            del self.sent[:-self.keep]
        return receipt


# --- failover ---------------------------------------------------------------------------

@dataclass
class _Route:
    client: SmsClient
    limiter: RateLimiter | None
    unhealthy_until: float = 0.0


class FailoverSmsClient(SmsClient):
    """Tries providers in priority order.

    * a provider whose rate limiter has no token is skipped;
    * a temporary failure (timeout, 5xx, credentials, credit) or a refusal
      specific to one provider: the next provider is tried, and the failing
      one is tried last for ``cooldown`` seconds;
    * a permanent failure about the recipient or the content (invalid
      number): stop, no other provider is tried;
    * nothing sent: a temporary failure if any provider may succeed later
      (``retry_after``: the shortest wait known), otherwise a permanent one.

    ``max_wait``: when every provider is only throttled, wait that long at
    most for a token instead of failing.
    """

    name = "failover"

    def __init__(self, providers: Sequence[SmsClient | tuple[SmsClient, RateLimiter | None]], *,
                 cooldown: float = 30.0, max_wait: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if not providers:
            raise ValueError("at least one SMS provider is required")
        self.routes = [_Route(*p) if isinstance(p, tuple) else _Route(p, None) for p in providers]
        self.cooldown = cooldown
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    def _ordered(self) -> list[_Route]:
        now = self._clock()
        healthy = [r for r in self.routes if r.unhealthy_until <= now]
        return healthy + [r for r in self.routes if r.unhealthy_until > now]

    def send(self, message: OutgoingSms) -> SendReceipt:
        _check_sms(message)
        waited = 0.0
        while True:
            failures: list[DeliveryFailure] = []
            waits: list[float] = []
            for route in self._ordered():
                if route.limiter is not None and not route.limiter.try_acquire():
                    waits.append(route.limiter.wait_time())
                    continue
                try:
                    receipt = route.client.send(message)
                except Exception as error:  # noqa: BLE001 - every failure is classified
                    failure = classify(error, provider=route.client.name)
                    if isinstance(failure, PermanentFailure) and not failure.provider_specific:
                        if failure is error:
                            raise
                        raise failure from error
                    if isinstance(failure, TemporaryFailure):
                        route.unhealthy_until = self._clock() + self.cooldown
                    failures.append(failure)
                    continue
                route.unhealthy_until = 0.0
                return receipt
            if not failures and waits:
                wait = min(waits)
                if waited + wait <= self.max_wait:
                    self._sleep(wait)
                    waited += wait
                    continue
                raise TemporaryFailure("rate_limited", "tous les fournisseurs SMS sont à leur débit maximal",
                                       provider=self.name, retry_after=wait)
            detail = "; ".join(f"{f.provider or '?'}: {f}" for f in failures)
            temporary = [f for f in failures if isinstance(f, TemporaryFailure)]
            if temporary or waits:
                hints = [f.retry_after for f in temporary if f.retry_after is not None] + waits
                raise TemporaryFailure("all_providers_failed", detail, provider=self.name,
                                       retry_after=min(hints) if hints else None)
            if all(isinstance(f, PermanentFailure) for f in failures):
                raise PermanentFailure("all_providers_rejected", detail, provider=self.name)
            raise TechnicalFailure("all_providers_failed", detail, provider=self.name)


__all__ = [
    "BrevoSmsClient", "FailoverSmsClient", "FileSmsClient", "HttpSmsClient", "HttpSmsConfig", "OutgoingSms",
    "RecordingSmsClient", "SmsClient", "TestModeSmsClient",
]
