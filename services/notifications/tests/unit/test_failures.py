"""The adapters' classification of their I/O errors (SMTP replies, HTTP answers, network errors)."""
import smtplib
import socket

import pytest
import requests

from guichet_notifications.adapters.failures import classify, classify_http_status
from guichet_notifications.domain.delivery import NotificationStatus as S
from guichet_notifications.domain.delivery import PermanentFailure, TechnicalFailure, TemporaryFailure


@pytest.mark.parametrize("error, kind, code", [
    (smtplib.SMTPResponseException(451, b"4.7.1 Greylisted"), TemporaryFailure, "smtp_temporary"),
    (smtplib.SMTPResponseException(421, b"Service not available"), TemporaryFailure, "smtp_temporary"),
    (smtplib.SMTPResponseException(452, b"Mailbox full"), TemporaryFailure, "smtp_temporary"),
    (smtplib.SMTPResponseException(550, b"5.1.1 User unknown"), PermanentFailure, "smtp_rejected"),
    (smtplib.SMTPResponseException(554, b"5.7.1 Rejected"), PermanentFailure, "smtp_rejected"),
    (smtplib.SMTPDataError(552, b"Message too big"), PermanentFailure, "smtp_rejected"),
    (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), TemporaryFailure, "smtp_authentication"),
    (smtplib.SMTPServerDisconnected("gone"), TemporaryFailure, "smtp_disconnected"),
    (ConnectionRefusedError(111, "Connection refused"), TemporaryFailure, "connection_error"),
    (socket.timeout("timed out"), TemporaryFailure, "timeout"),
    (TimeoutError(), TemporaryFailure, "timeout"),
    (socket.gaierror(-2, "Name or service not known"), TemporaryFailure, "connection_error"),
    (requests.Timeout(), TemporaryFailure, "provider_timeout"),
    (requests.ConnectionError(), TemporaryFailure, "provider_unreachable"),
    (KeyError("bug"), TechnicalFailure, "unexpected_error"),
])
def test_classify(error, kind, code):
    failure = classify(error)
    assert type(failure) is kind and failure.code == code
    assert failure.status == {TemporaryFailure: S.TEMPORARY_FAILURE, PermanentFailure: S.PERMANENT_FAILURE,
                              TechnicalFailure: S.TECHNICAL_FAILURE}[kind]


def test_classify_refused_recipients():
    mixed = smtplib.SMTPRecipientsRefused({"a@x.fr": (550, b"unknown"), "b@x.fr": (450, b"busy")})
    assert isinstance(classify(mixed), TemporaryFailure)
    refused = smtplib.SMTPRecipientsRefused({"a@x.fr": (550, b"5.1.1 <a@x.fr> unknown")})
    failure = classify(refused)
    assert isinstance(failure, PermanentFailure) and failure.smtp_code == 550
    assert "a@x.fr" not in str(failure)


def test_classify_keeps_delivery_failures():
    failure = PermanentFailure("invalid_phone_number")
    assert classify(failure) is failure


@pytest.mark.parametrize("status, kind, code", [
    (500, TemporaryFailure, "provider_unavailable"), (502, TemporaryFailure, "provider_unavailable"),
    (503, TemporaryFailure, "provider_unavailable"), (429, TemporaryFailure, "provider_unavailable"),
    (408, TemporaryFailure, "provider_unavailable"), (401, TemporaryFailure, "provider_configuration"),
    (402, TemporaryFailure, "provider_configuration"), (403, TemporaryFailure, "provider_configuration"),
    (400, PermanentFailure, "provider_rejected"), (422, PermanentFailure, "provider_rejected"),
])
def test_classify_http_status(status, kind, code):
    failure = classify_http_status(status, "détail")
    assert type(failure) is kind and failure.code == code and failure.http_status == status


def test_invalid_number_stops_failover_other_4xx_do_not():
    invalid = classify_http_status(400, "invalid recipient", invalid_number=True)
    assert isinstance(invalid, PermanentFailure) and invalid.code == "invalid_phone_number"
    assert not invalid.provider_specific
    assert classify_http_status(400, "bad sender").provider_specific
    assert classify_http_status(503, retry_after=12).retry_after == 12
