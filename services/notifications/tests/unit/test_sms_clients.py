"""SMS providers against a local fake HTTP server, failover, rate limits, dev file."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from guichet_notifications.adapters.sms import (
    BrevoSmsClient,
    FailoverSmsClient,
    FileSmsClient,
    HttpSmsConfig,
    OutgoingSms,
    RecordingSmsClient,
)
from guichet_notifications.domain.delivery import (
    NotificationStatus,
    PermanentFailure,
    TemporaryFailure,
)
from guichet_notifications.domain.rate_limit import RateLimiter

SMS = OutgoingSms(to="+33612345678", text="Ville de Roubaix - Rappel : sortir vos encombrants le 25/11/2026.",
                  reference="notif-1")

# path -> (status, headers, body); "/slow" sleeps before answering
ROUTES = {
    "/ok": (201, {}, {"messageId": 1511882900176220}),
    "/ok2": (201, {}, {"messageId": 42}),
    "/legacy": (201, {}, {"reference": "ab1cde2fgh3i4jklmno", "messageId": 7, "smsCount": 1}),
    "/garbage": (201, {}, "pas du JSON"),
    "/fail": (500, {}, {"code": "internal_error", "message": "Internal server error"}),
    "/unavailable": (503, {"Retry-After": "7"}, "Service Unavailable"),
    "/busy": (429, {"Retry-After": "12"}, {"code": "too_many_requests", "message": "Rate limit exceeded"}),
    "/unauthorized": (401, {}, {"code": "unauthorized", "message": "Key not found"}),
    "/invalid": (400, {}, {"code": "invalid_parameter", "message": "Invalid recipient number +33612345678"}),
    "/badsender": (400, {}, {"code": "invalid_parameter", "message": "sender is invalid"}),
    "/slow": (201, {}, {"messageId": 99}),
}


class FakeProvider(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "json": json.loads(body) if body else None})
        if self.path == "/slow":
            time.sleep(1.0)
        status, headers, payload = ROUTES[self.path]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def brevo(server, path, name="brevo", **config):
    host, port = server.server_address
    return BrevoSmsClient(HttpSmsConfig(endpoint=f"http://{host}:{port}{path}", api_key="xkeysib-test",
                                        sender="ROUBAIX", name=name, read_timeout=config.pop("read_timeout", 5),
                                        **config))


def paths(server):
    return [r["path"] for r in server.requests]


# --- the HTTP provider ---------------------------------------------------------------------------

def test_brevo_request_and_receipt(provider):
    receipt = brevo(provider, "/ok").send(SMS)
    assert (receipt.provider, receipt.reference, receipt.status) == ("brevo", "1511882900176220",
                                                                      NotificationStatus.SENT)
    [request] = provider.requests
    assert request["headers"]["api-key"] == "xkeysib-test"
    assert request["headers"]["content-type"] == "application/json"
    assert request["json"] == {"sender": "ROUBAIX", "recipient": "33612345678", "content": SMS.text,
                               "type": "transactional", "unicodeEnabled": False, "tag": "guichet"}


def test_unicode_flag_follows_the_encoding(provider):
    brevo(provider, "/ok").send(OutgoingSms(to="+33612345678", text="Fête de l'école 🎉"))
    assert provider.requests[0]["json"]["unicodeEnabled"] is True


def test_delivery_receipts_requested_when_a_callback_is_configured(provider):
    client = brevo(provider, "/ok", status_callback_url="https://guichet.example.fr/api/v1/sms/receipts/brevo")
    assert client.send(SMS).status == NotificationStatus.SENDING
    assert provider.requests[0]["json"]["webUrl"] == "https://guichet.example.fr/api/v1/sms/receipts/brevo"


def test_accepted_answers_without_a_usable_id_still_count_as_sent(provider):
    assert brevo(provider, "/legacy").send(SMS).reference == "7"
    receipt = brevo(provider, "/garbage").send(SMS)
    assert receipt.reference is None and receipt.status == NotificationStatus.SENT


@pytest.mark.parametrize("path, kind, code, retry_after", [
    ("/fail", TemporaryFailure, "provider_unavailable", None),
    ("/unavailable", TemporaryFailure, "provider_unavailable", 7),
    ("/busy", TemporaryFailure, "provider_unavailable", 12),
    ("/unauthorized", TemporaryFailure, "provider_configuration", None),
    ("/invalid", PermanentFailure, "invalid_phone_number", None),
    ("/badsender", PermanentFailure, "provider_rejected", None),
])
def test_http_errors_are_classified(provider, path, kind, code, retry_after):
    with pytest.raises(kind) as info:
        brevo(provider, path).send(SMS)
    assert info.value.code == code and info.value.provider == "brevo"
    assert getattr(info.value, "retry_after", None) == retry_after
    assert "612345678" not in str(info.value)  # the number never ends up in a failure reason


def test_timeout_is_temporary(provider):
    with pytest.raises(TemporaryFailure) as info:
        brevo(provider, "/slow", read_timeout=0.2).send(SMS)
    assert info.value.code == "provider_timeout"


def test_unreachable_provider_is_temporary():
    client = BrevoSmsClient(HttpSmsConfig(endpoint="http://127.0.0.1:9/send", api_key="k", sender="ROUBAIX",
                                          connect_timeout=1))
    with pytest.raises(TemporaryFailure) as info:
        client.send(SMS)
    assert info.value.code == "provider_unreachable"


def test_number_must_be_e164(provider):
    with pytest.raises(PermanentFailure) as info:
        brevo(provider, "/ok").send(OutgoingSms(to="06 12 34 56 78", text="x"))
    assert info.value.code == "invalid_phone_number"
    assert provider.requests == []


def test_config_validation():
    with pytest.raises(ValueError):
        HttpSmsConfig(endpoint="ftp://x", api_key="k", sender="ROUBAIX")
    with pytest.raises(ValueError):
        HttpSmsConfig(endpoint="https://x", api_key="k", sender="MAIRIE DE ROUBAIX")  # > 11 characters
    with pytest.raises(ValueError):
        HttpSmsConfig(endpoint="https://x", api_key="", sender="ROUBAIX")
    assert "xkeysib" not in repr(HttpSmsConfig(endpoint="https://x", api_key="xkeysib-secret", sender="ROUBAIX"))


# --- failover -------------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_failover_from_a_failing_provider_to_the_next(provider):
    client = FailoverSmsClient([brevo(provider, "/fail", "primary"), brevo(provider, "/ok2", "secondary")])
    receipt = client.send(SMS)
    assert (receipt.provider, receipt.reference) == ("secondary", "42")
    assert paths(provider) == ["/fail", "/ok2"]


def test_failover_on_timeout(provider):
    client = FailoverSmsClient([brevo(provider, "/slow", "primary", read_timeout=0.2),
                                brevo(provider, "/ok2", "secondary")])
    assert client.send(SMS).provider == "secondary"


def test_invalid_number_stops_failover(provider):
    client = FailoverSmsClient([brevo(provider, "/invalid", "primary"), brevo(provider, "/ok2", "secondary")])
    with pytest.raises(PermanentFailure) as info:
        client.send(SMS)
    assert info.value.code == "invalid_phone_number"
    assert paths(provider) == ["/invalid"]


def test_a_refusal_specific_to_one_provider_fails_over(provider):
    client = FailoverSmsClient([brevo(provider, "/badsender", "primary"), brevo(provider, "/ok2", "secondary")])
    assert client.send(SMS).provider == "secondary"


def test_all_providers_failing_is_temporary(provider):
    client = FailoverSmsClient([brevo(provider, "/fail", "primary"), brevo(provider, "/unavailable", "secondary")])
    with pytest.raises(TemporaryFailure) as info:
        client.send(SMS)
    assert info.value.code == "all_providers_failed" and info.value.retry_after == 7
    assert "primary" in info.value.detail and "secondary" in info.value.detail


def test_all_providers_refusing_is_permanent(provider):
    client = FailoverSmsClient([brevo(provider, "/badsender", "primary"), brevo(provider, "/badsender", "other")])
    with pytest.raises(PermanentFailure) as info:
        client.send(SMS)
    assert info.value.code == "all_providers_rejected"


def test_a_failing_provider_is_tried_last_during_its_cooldown(provider):
    clock = Clock()
    client = FailoverSmsClient([brevo(provider, "/fail", "primary"), brevo(provider, "/ok2", "secondary")],
                               cooldown=30, clock=clock)
    client.send(SMS)
    client.send(SMS)
    assert paths(provider) == ["/fail", "/ok2", "/ok2"]
    clock.now += 31
    client.send(SMS)
    assert paths(provider)[-2:] == ["/fail", "/ok2"]


def test_each_provider_behind_its_rate_limiter():
    clock = Clock()
    primary, secondary = RecordingSmsClient(name="primary"), RecordingSmsClient(name="secondary")
    client = FailoverSmsClient([(primary, RateLimiter(rate=1, capacity=2, clock=clock)),
                                (secondary, RateLimiter(rate=1, capacity=1, clock=clock))], clock=clock)
    assert [client.send(SMS).provider for _ in range(3)] == ["primary", "primary", "secondary"]
    with pytest.raises(TemporaryFailure) as info:
        client.send(SMS)
    assert info.value.code == "rate_limited" and info.value.retry_after == pytest.approx(1.0)
    clock.now += 1
    assert client.send(SMS).provider == "primary"


def test_waits_for_a_token_up_to_max_wait():
    clock = Clock()
    only = RecordingSmsClient(name="only")
    client = FailoverSmsClient([(only, RateLimiter(rate=4, capacity=1, clock=clock))], max_wait=1.0,
                               clock=clock, sleep=clock.sleep)
    client.send(SMS)
    client.send(SMS)
    assert clock.now == pytest.approx(0.25) and len(only.sent) == 2


# --- development and test mode --------------------------------------------------------------------------

def test_dev_provider_writes_json_lines(tmp_path):
    client = FileSmsClient(tmp_path / "sms" / "outbox.jsonl")
    receipt = client.send(SMS)
    client.send(OutgoingSms(to="+262692123456", text="Fête 🎉"))
    assert receipt.status == NotificationStatus.DELIVERED and receipt.provider == "dev-file"
    first, second = client.read()
    assert first["to"] == "+33612345678" and first["text"] == SMS.text and first["notification"] == "notif-1"
    assert first["reference"] == receipt.reference and first["encoding"] == "GSM-7" and first["segments"] == 1
    assert second["encoding"] == "UCS-2"
    lines = (tmp_path / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "Fête 🎉" in lines[1]


def test_dev_provider_as_last_resort(provider, tmp_path):
    dev = FileSmsClient(tmp_path / "outbox.jsonl")
    client = FailoverSmsClient([brevo(provider, "/fail"), dev])
    assert client.send(SMS).provider == "dev-file"


def test_recording_client_scripts_failures():
    client = RecordingSmsClient(failures=[TemporaryFailure("provider_unavailable")])
    with pytest.raises(TemporaryFailure):
        client.send(SMS)
    assert client.send(SMS).status == NotificationStatus.DELIVERED
    assert client.sent == [SMS]
