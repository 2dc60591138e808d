"""What the adapters' I/O errors mean for a notification: SMTP replies, HTTP answers and network errors,
as the domain's :class:`~guichet_notifications.domain.delivery.DeliveryFailure` types.

The SMTP and HTTP clients classify their own errors here, so the domain and the application only ever
see temporary, permanent or technical failures with a stable ``code``.
"""
from __future__ import annotations

import smtplib
import socket
import ssl

import requests

from ..domain.delivery import DeliveryFailure, PermanentFailure, TechnicalFailure, TemporaryFailure

_SMTP_AUTH_CODES = {530, 534, 535, 538}


def _text(message) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def classify_smtp_code(code: int, text: str = "", *, provider: str | None = "smtp") -> DeliveryFailure:
    """4xx temporary, 5xx permanent — except authentication and TLS set-up
    problems (530/534/535/538): those are our configuration, not the
    recipient's address, so they are temporary (retried while ops fix it)."""
    if code in _SMTP_AUTH_CODES:
        return TemporaryFailure("smtp_authentication", text, provider=provider, smtp_code=code)
    if 400 <= code < 500:
        return TemporaryFailure("smtp_temporary", text, provider=provider, smtp_code=code)
    if 500 <= code < 600:
        return PermanentFailure("smtp_rejected", text, provider=provider, smtp_code=code)
    return TemporaryFailure("smtp_unexpected_reply", text, provider=provider, smtp_code=code)


def _smtp_failure(error: BaseException, provider: str) -> DeliveryFailure | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values()) or [(550, b"recipient refused")]
        failures = [classify_smtp_code(code, f"{code} {_text(msg)}", provider=provider) for code, msg in replies]
        temporary = [f for f in failures if isinstance(f, TemporaryFailure)]
        return temporary[0] if temporary else failures[0]
    if isinstance(error, smtplib.SMTPResponseException):
        return classify_smtp_code(error.smtp_code, f"{error.smtp_code} {_text(error.smtp_error)}", provider=provider)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TemporaryFailure("smtp_disconnected", str(error), provider=provider)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return TemporaryFailure("smtp_not_supported", str(error), provider=provider)
    return None


def _network_failure(error: BaseException, provider: str | None) -> DeliveryFailure | None:
    if isinstance(error, requests.Timeout):
        return TemporaryFailure("provider_timeout", type(error).__name__, provider=provider)
    if isinstance(error, requests.ConnectionError):
        return TemporaryFailure("provider_unreachable", type(error).__name__, provider=provider)
    if isinstance(error, (TimeoutError, socket.timeout)):
        return TemporaryFailure("timeout", type(error).__name__, provider=provider)
    if isinstance(error, ssl.SSLError):
        return TemporaryFailure("tls_error", str(error), provider=provider)
    if isinstance(error, (ConnectionError, socket.gaierror, OSError)):
        return TemporaryFailure("connection_error", f"{type(error).__name__}: {error}", provider=provider)
    return None


def classify(error: BaseException, *, provider: str | None = None) -> DeliveryFailure:
    """Any exception met while sending, as a :class:`DeliveryFailure`.

    * already a DeliveryFailure: unchanged;
    * SMTP replies: by code (:func:`classify_smtp_code`); several refused
      recipients: the mildest wins (temporary if any is 4xx);
    * timeouts, refused or reset connections, DNS and TLS errors, a server
      that hung up: temporary;
    * ``requests`` timeouts and connection errors: temporary;
    * anything else: technical failure (a bug: not retried automatically).
    """
    if isinstance(error, DeliveryFailure):
        return error
    failure = _smtp_failure(error, provider or "smtp") or _network_failure(error, provider)
    return failure or TechnicalFailure("unexpected_error", f"{type(error).__name__}: {error}", provider=provider)


def classify_http_status(status: int, detail: str = "", *, provider: str | None = None,
                         invalid_number: bool = False, retry_after: float | None = None) -> DeliveryFailure:
    """An HTTP provider's error answer.

    * 408, 425, 429, 5xx: temporary (the provider is busy or down);
    * 401, 402, 403, 404, 405: temporary: our credentials, credit or endpoint,
      not the message: failover tries the next provider, retries wait for ops;
    * other 4xx with ``invalid_number`` (the provider said the recipient is
      not a valid mobile number): permanent, failover stops;
    * other 4xx: permanent for this provider only (``provider_specific``).
    """
    if status in (408, 425, 429) or status >= 500:
        return TemporaryFailure("provider_unavailable", f"HTTP {status} {detail}", provider=provider,
                                http_status=status, retry_after=retry_after)
    if status in (401, 402, 403, 404, 405):
        return TemporaryFailure("provider_configuration", f"HTTP {status} {detail}", provider=provider,
                                http_status=status, retry_after=retry_after)
    if invalid_number:
        return PermanentFailure("invalid_phone_number", f"HTTP {status} {detail}", provider=provider,
                                http_status=status)
    if 400 <= status < 500:
        return PermanentFailure("provider_rejected", f"HTTP {status} {detail}", provider=provider,
                                http_status=status, provider_specific=True)
    return TemporaryFailure("provider_unexpected_status", f"HTTP {status} {detail}", provider=provider,
                            http_status=status)
