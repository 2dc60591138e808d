"""The notifications service process on the real broker, with its migrated database,
a real local SMTP server (aiosmtpd) and local fake SMS providers (HTTP)."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller

from guichet_common import dlq
from guichet_common.auth import Caller
from guichet_common.testing import migrated_service, publish, wait_for
from guichet_contracts import types
from guichet_contracts.envelope import make_envelope

pytestmark = pytest.mark.interface

REQUESTED = types.NOTIFICATION_REQUESTED
CONTACT = types.CONTACT_UPDATED
ACCOUNT = "3f6b1c2e-8d4a-4b7e-9c15-2a7d0e9f4b61"
ACK = {"demande_number": "DEM-2026-000123", "procedure_name": "Inscription scolaire",
       "submitted_at": "2026-03-02T10:15:00+01:00"}
AGENT = Caller(kind="agent", subject="agent-7c1e", roles=("agent_etat_civil",))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Keeps mails; ``greylist*`` recipients get one 451 first, ``refuse*`` recipients always 550."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.rcpt_replies: list[str] = []
        self.greylisted: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        with self.lock:
            if local.startswith("refuse"):
                reply = "550 5.1.1 Mailbox unknown"
            elif local.startswith("greylist") and address not in self.greylisted:
                self.greylisted.add(address)
                reply = "451 4.7.1 Greylisted, try again later"
            else:
                envelope.rcpt_tos.append(address)
                reply = "250 OK"
            self.rcpt_replies.append(reply[:3])
        return reply

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 2.0.0 Ok: queued"

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


class FailingSmsProvider(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):  # noqa: N802
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"code":"internal","message":"boom"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_sms():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FailingSmsProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v3/transactionalSMS/send"
    server.shutdown()


@pytest.fixture
def service(processes, databases, smtp, failing_sms, tmp_path):
    _sink, port = smtp
    sms_file = tmp_path / "sms.jsonl"
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({
        "name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.example",
        "contact": {"phone": "03 20 00 00 00", "email": "mairie@ville.example"},
        "notifications": {"sms_providers": [
            {"type": "brevo", "name": "brevo", "endpoint": failing_sms, "api_key": "k", "sender": "VILLE"},
            {"type": "file", "name": "dev-file", "path": str(sms_file)}],
            "unsubscribe_url": "https://ville.example/preferences"},
    }), encoding="utf-8")
    process = migrated_service(processes, databases, "notifications", GUICHET_TOWN_SETTINGS=str(town),
                               GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1", GUICHET_NOTIFICATIONS_SMTP_PORT=port,
                               GUICHET_NOTIFICATIONS_RETRY_BASE_DELAY="0.5",
                               GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2")
    engine = sa.create_engine(process.env["GUICHET_NOTIFICATIONS_DATABASE_URL"])
    yield process, engine, sms_file
    engine.dispose()


def command(amqp_uri, type_, data, message_id=None):
    envelope = make_envelope(type=type_, source="accounts", data=data, id=message_id)
    publish(amqp_uri, "notifications.commands", type_, envelope)
    return envelope


def rows(engine, **where):
    with engine.connect() as connection:
        query = "SELECT * FROM notifications" + (" WHERE " + " AND ".join(f"{k} = :{k}" for k in where)
                                                  if where else "")
        return [dict(r) for r in connection.execute(sa.text(query), where).mappings()]


def ack(address, **extra):
    return {"template": "demande_acknowledgement", "recipient": {"email": address}, "personalisation": ACK,
            "reference": "DEM-2026-000123", **extra}


def test_health_reports_a_migrated_database(processes, databases, rpc):
    migrated_service(processes, databases, "notifications")
    report = rpc.call("notifications", "health")
    assert report["status"] == "ok"
    assert report["database"]["up_to_date"] is True
    assert report["outbox_backlog"] == 0


def test_one_command_one_french_email_and_a_duplicate_sends_nothing(service, smtp, amqp_uri, amqp_spy):
    _process, engine, _ = service
    sink, _port = smtp
    events = amqp_spy("notifications.events", "fr.guichet.notifications.notification.*.v1")
    command(amqp_uri, CONTACT, {"account_id": ACCOUNT, "email": "jeanne.martin@example.org",
                                "phone_mobile": "0612345678", "preference": "email",
                                "display_name": "Jeanne Martin"})
    envelope = command(amqp_uri, REQUESTED, {"template": "demande_acknowledgement",
                                             "recipient": {"account_id": ACCOUNT}, "personalisation": ACK})
    publish(amqp_uri, "notifications.commands", REQUESTED, envelope)  # delivered twice
    wait_for(lambda: sink.to("jeanne.martin@example.org"), timeout=15, message="the email")
    [mail] = sink.to("jeanne.martin@example.org")
    assert mail["Subject"] == "Accusé de réception de votre demande n° DEM-2026-000123"
    assert mail["From"].addresses[0].display_name == "Ville de Test"
    text = mail.get_body(("plain",)).get_content()
    assert "Jeanne Martin" in text and "Inscription scolaire" in text and "03 20 00 00 00" in text
    assert "List-Unsubscribe" not in mail  # essential
    wait_for(lambda: rows(engine, status="sent"), message="sent status")
    [published] = events.collect(1, timeout=10)
    assert published[1]["type"] == "fr.guichet.notifications.notification.delivered.v1"
    import time
    time.sleep(1.0)
    assert len(sink.to("jeanne.martin@example.org")) == 1
    assert len(rows(engine)) == 1


def test_451_then_250_gives_one_delivery_after_a_retry_and_550_a_permanent_failure(service, smtp, amqp_uri):
    _process, engine, _ = service
    sink, _port = smtp
    command(amqp_uri, REQUESTED, ack("greylist.me@example.org"))
    command(amqp_uri, REQUESTED, ack("refuse.me@example.org"))
    wait_for(lambda: sink.to("greylist.me@example.org"), timeout=20, message="delivery after the retry")
    [greylisted] = wait_for(lambda: rows(engine, recipient_address="greylist.me@example.org", status="sent"))
    assert greylisted["attempts"] == 2
    [refused] = wait_for(lambda: rows(engine, recipient_address="refuse.me@example.org",
                                      status="permanent-failure"))
    assert refused["attempts"] == 1 and refused["failure_code"] == "smtp_rejected"
    assert "550" in refused["failure_reason"] and "refuse.me" not in refused["failure_reason"]
    import time
    time.sleep(1.5)
    assert rows(engine, recipient_address="refuse.me@example.org")[0]["attempts"] == 1  # never retried
    assert len(sink.to("greylist.me@example.org")) == 1 and not sink.to("refuse.me@example.org")


def test_sms_fails_over_from_a_failing_http_provider_to_the_file_provider(service, amqp_uri):
    _process, engine, sms_file = service
    FailingSmsProvider.calls = 0
    command(amqp_uri, REQUESTED, {"template": "reminder", "recipient": {"phone": "06 12 34 56 78"},
                                  "personalisation": {"action": "sortir vos encombrants",
                                                      "date": "2026-03-10T07:00:00+01:00"}})
    [row] = wait_for(lambda: rows(engine, status="delivered"), timeout=15, message="SMS delivered")
    assert row["provider"] == "dev-file" and row["channel"] == "sms"
    assert FailingSmsProvider.calls == 1
    [line] = [json.loads(line) for line in sms_file.read_text().splitlines()]
    assert line["to"] == "+33612345678" and "sortir vos encombrants" in line["text"]


@pytest.mark.parametrize("data, code", [
    ({"template": "inconnu", "recipient": {"email": "a@example.org"}}, "unknown_template"),
    ({"template": "demande_acknowledgement", "recipient": {"email": "a@example.org"},
      "personalisation": {"demande_number": "D1"}}, "missing_personalisation"),
    ({"template": "reminder", "recipient": {"phone": "01 23 45"}, "channel": "sms",
      "personalisation": {"action": "venir", "date": "2026-03-10T07:00:00+01:00"}}, "invalid_phone_number"),
])
def test_bad_input_is_a_recorded_failure_and_the_service_stays_healthy(service, amqp_uri, rpc, data, code):
    _process, engine, _ = service
    command(amqp_uri, REQUESTED, data)
    [row] = wait_for(lambda: rows(engine, status="permanent-failure"), message="recorded failure")
    assert row["failure_code"] == code and row["failure_reason"]
    assert rpc.call("notifications", "health")["status"] == "ok"
    assert dlq.depths(amqp_uri, ["notifications"]) == {"guichet.notifications.dlq": 0}
    found = rpc.call("notifications", "search_notifications", kwargs={"failed": True}, caller=AGENT)
    assert [item["failure_code"] for item in found["items"]] == [code]


def test_agent_rpcs_and_citizen_history(service, smtp, amqp_uri, rpc):
    _process, engine, _ = service
    sink, _ = smtp
    command(amqp_uri, CONTACT, {"account_id": ACCOUNT, "email": "jeanne.martin@example.org",
                                "preference": "email"})
    command(amqp_uri, REQUESTED, {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT},
                                  "personalisation": ACK})
    [row] = wait_for(lambda: rows(engine, status="sent"), timeout=15)
    citizen = Caller(kind="citizen", subject=ACCOUNT)
    mine = rpc.call("notifications", "my_notifications", kwargs={"limit": 10}, caller=citizen)
    assert len(mine["items"]) == 1 and mine["items"][0]["subject"].startswith("Accusé de réception")
    assert mine["next_cursor"] is None and "recipient_address" not in mine["items"][0]  # agents' fields only
    other = rpc.call("notifications", "my_notifications", caller=Caller(kind="citizen", subject="other"))
    assert other == {"items": [], "next_cursor": None}
    with pytest.raises(Exception) as too_many:
        rpc.call("notifications", "my_notifications", kwargs={"limit": 101}, caller=citizen)
    assert too_many.value.problem()["errors"] == {"limit": ["Entre 1 et 100 éléments par page."]}
    with pytest.raises(Exception) as refused:
        rpc.call("notifications", "search_notifications", caller=citizen)
    assert "forbidden" in str(getattr(refused.value, "problem", refused.value)) or refused.value.status == 403
    resent = rpc.call("notifications", "resend_notification", row["id"], caller=AGENT)
    wait_for(lambda: len(sink.to("jeanne.martin@example.org")) == 2, timeout=15, message="the resent email")
    assert rows(engine, id=resent["id"])[0]["status"] == "sent"
    preview = rpc.call("notifications", "preview_template", "demande_acknowledgement",
                       kwargs={"personalisation": ACK}, caller=AGENT)
    assert preview["subject"] == "Accusé de réception de votre demande n° DEM-2026-000123"


def test_one_click_unsubscribe_stops_non_essential_messages_and_survives_contact_updates(service, smtp, amqp_uri,
                                                                                        rpc):
    from urllib.parse import parse_qs, urlsplit

    from guichet_common.rpc_client import RemoteProblem

    _process, engine, _ = service
    sink, _ = smtp
    citizen = Caller(kind="citizen", subject=ACCOUNT)
    details = {"account_id": ACCOUNT, "email": "jeanne.martin@example.org", "preference": "email"}
    reminder = {"template": "reminder", "recipient": {"account_id": ACCOUNT},
                "personalisation": {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}}
    command(amqp_uri, CONTACT, details)
    command(amqp_uri, REQUESTED, reminder)
    [mail] = wait_for(lambda: sink.to("jeanne.martin@example.org"), timeout=15, message="the reminder")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://ville.example/preferences?token=")  # the town's override of the base URL
    token = parse_qs(urlsplit(link).query)["token"][0]

    assert rpc.call("notifications", "unsubscribe", kwargs={"token": token}) == {
        "unsubscribed": True, "scope": "non_essential"}  # anonymous: the signed token is the proof
    assert rpc.call("notifications", "unsubscribe", kwargs={"token": token})["unsubscribed"] is True  # idempotent
    with pytest.raises(RemoteProblem) as invalid:
        rpc.call("notifications", "unsubscribe", kwargs={"token": token[:-3] + "AAA"})
    assert invalid.value.problem()["type"] == "urn:guichet:problem:unsubscribe-link-invalid"
    assert invalid.value.problem()["status"] == 400 and "lien de désinscription" in invalid.value.problem()["detail"]

    command(amqp_uri, CONTACT, {**details, "display_name": "Jeanne Martin"})  # accounts re-sends the contact
    wait_for(lambda: _contact_name(engine) == "Jeanne Martin", message="the new contact details")
    assert rpc.call("notifications", "my_notification_preferences", caller=citizen)["non_essential"] is False
    command(amqp_uri, REQUESTED, reminder)
    command(amqp_uri, REQUESTED, {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT},
                                  "personalisation": ACK})
    [blocked] = wait_for(lambda: rows(engine, failure_code="unsubscribed"), timeout=15, message="the opt-out")
    assert blocked["status"] == "permanent-failure" and blocked["template"] == "reminder"
    wait_for(lambda: len(sink.to("jeanne.martin@example.org")) == 2, timeout=15, message="the essential mail")
    assert "Accusé de réception" in sink.to("jeanne.martin@example.org")[1]["Subject"]
    found = rpc.call("notifications", "search_notifications", kwargs={"failed": True}, caller=AGENT)
    assert [(i["id"], i["failure_code"]) for i in found["items"]] == [(blocked["id"], "unsubscribed")]

    with pytest.raises(RemoteProblem) as anonymous:
        rpc.call("notifications", "update_my_notification_preferences", kwargs={"non_essential": True})
    assert anonymous.value.problem()["status"] == 401
    with pytest.raises(RemoteProblem) as agent:
        rpc.call("notifications", "my_notification_preferences", caller=AGENT)
    assert agent.value.problem()["status"] == 403
    with pytest.raises(RemoteProblem) as not_a_boolean:
        rpc.call("notifications", "update_my_notification_preferences", kwargs={"non_essential": "oui"},
                 caller=citizen)
    assert not_a_boolean.value.problem()["status"] == 422
    assert rpc.call("notifications", "update_my_notification_preferences", kwargs={"non_essential": True},
                    caller=citizen)["non_essential"] is True
    command(amqp_uri, REQUESTED, reminder)
    wait_for(lambda: len(sink.to("jeanne.martin@example.org")) == 3, timeout=15, message="opted back in")


def _contact_name(engine):
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT display_name FROM contacts")).scalar()


def test_an_event_from_another_service_gives_one_email_and_a_duplicate_none(processes, databases, smtp, amqp_uri):
    """Through a test-only event contract (the demarches service does not exist yet)."""
    from guichet_notifications_events import SERVICE
    from guichet_notifications_events.contracts import DEMANDE_SUBMITTED

    from guichet_common import migrations

    sink, port = smtp
    url = databases.new("notifications")
    migrations.upgrade("guichet_notifications", url)
    processes.service(SERVICE, "notifications", url, GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
                      GUICHET_NOTIFICATIONS_SMTP_PORT=port, GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2")
    command(amqp_uri, CONTACT, {"account_id": ACCOUNT, "email": "jeanne.martin@example.org",
                                "preference": "sms", "phone_mobile": "0612345678"})
    event = make_envelope(type=DEMANDE_SUBMITTED.type, source="demarchesfake",
                          data={"account_id": ACCOUNT, **ACK})
    publish(amqp_uri, "demarchesfake.events", DEMANDE_SUBMITTED.type, event)
    publish(amqp_uri, "demarchesfake.events", DEMANDE_SUBMITTED.type, event)  # the duplicate
    [mail] = wait_for(lambda: sink.to("jeanne.martin@example.org"), timeout=15, message="the acknowledgement")
    assert "Inscription scolaire" in mail.get_body(("plain",)).get_content()  # email-only template
    import time
    time.sleep(1.0)
    assert len(sink.to("jeanne.martin@example.org")) == 1


def test_two_replicas_share_the_work_and_send_each_mail_once(processes, databases, smtp, amqp_uri):
    from guichet_common import migrations

    sink, port = smtp
    url = databases.new("notifications")
    migrations.upgrade("guichet_notifications", url)
    for _ in range(2):
        processes.service("notifications", "notifications", url, GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
                          GUICHET_NOTIFICATIONS_SMTP_PORT=port, GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.05")
    addresses = [f"citoyen{i}@example.org" for i in range(60)]
    for address in addresses:
        command(amqp_uri, REQUESTED, ack(address))
    wait_for(lambda: len(sink.messages) >= len(addresses), timeout=30, message="every mail")
    import time
    time.sleep(1.0)
    assert sorted(m["To"] for m in sink.messages) == sorted(addresses)


# --- SMS delivery reports -------------------------------------------------------------------------

REPORT_SECRET = "brevo-report-secret-for-the-interface-test"


class AcceptingSmsProvider(BaseHTTPRequestHandler):
    """Brevo-like: accepts every SMS (201) with a messageId, and keeps what it was asked."""

    bodies: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        type(self).bodies.append(body)
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"reference": "ab1cde2fgh3i4jklmno",
                                     "messageId": 1511882900176220 + len(type(self).bodies)}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def reporting_service(processes, databases, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), AcceptingSmsProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    AcceptingSmsProvider.bodies = []
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({
        "name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.example",
        "notifications": {"sms_providers": [
            {"type": "brevo", "name": "brevo", "api_key": "k", "sender": "VILLE",
             "endpoint": f"http://127.0.0.1:{server.server_address[1]}/v3/transactionalSMS/send",
             "report_secret_env": "TEST_BREVO_REPORT_SECRET"}],
            "unsubscribe_url": "https://ville.example/preferences"},
    }), encoding="utf-8")
    process = migrated_service(processes, databases, "notifications", GUICHET_TOWN_SETTINGS=str(town),
                               TEST_BREVO_REPORT_SECRET=REPORT_SECRET, GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2")
    engine = sa.create_engine(process.env["GUICHET_NOTIFICATIONS_DATABASE_URL"])
    yield process, engine
    engine.dispose()
    server.shutdown()


def test_an_sms_accepted_by_the_provider_becomes_delivered_by_its_report_once(reporting_service, amqp_uri, rpc,
                                                                             amqp_spy):
    from guichet_common.rpc_client import RemoteProblem

    _process, engine = reporting_service
    events = amqp_spy("notifications.events", "fr.guichet.notifications.notification.*.v1")
    command(amqp_uri, REQUESTED, {"template": "reminder", "recipient": {"phone": "06 12 34 56 78"},
                                  "personalisation": {"action": "sortir vos encombrants",
                                                      "date": "2026-03-10T07:00:00+01:00"}})
    [row] = wait_for(lambda: rows(engine, status="sending"), timeout=15, message="SMS accepted")
    assert (row["provider"], row["provider_reference"]) == ("brevo", "1511882900176221")
    [sent] = AcceptingSmsProvider.bodies
    assert sent["webUrl"] == f"https://ville.example/api/v1/notifications/sms-reports/brevo?token={REPORT_SECRET}"
    [accepted] = events.collect(1, timeout=10)
    assert accepted[1]["data"]["status"] == "sent"

    report = {"msg_status": "delivered", "messageId": 1511882900176221, "reference": "ab1cde2fgh3i4jklmno"}
    with pytest.raises(RemoteProblem) as refused:
        rpc.call("notifications", "sms_delivery_report",
                 kwargs={"provider": "brevo", "token": "x" * 40, "report": report})
    assert refused.value.problem()["type"] == "urn:guichet:problem:sms-report-forbidden"
    assert rows(engine, id=row["id"])[0]["status"] == "sending"

    answer = rpc.call("notifications", "sms_delivery_report",
                      kwargs={"provider": "brevo", "token": REPORT_SECRET, "report": report})
    assert answer == {"outcome": "updated"}
    assert rows(engine, id=row["id"])[0]["status"] == "delivered"
    [delivered] = events.collect(1, timeout=10)
    assert delivered[1]["type"] == "fr.guichet.notifications.notification.delivered.v1"
    assert delivered[1]["data"]["status"] == "delivered"

    again = rpc.call("notifications", "sms_delivery_report",
                     kwargs={"provider": "brevo", "token": REPORT_SECRET, "report": report})
    assert again == {"outcome": "unchanged"}
    unknown = rpc.call("notifications", "sms_delivery_report",
                       kwargs={"provider": "brevo", "token": REPORT_SECRET,
                               "report": {"msg_status": "delivered", "messageId": 42}})
    assert unknown == {"outcome": "ignored"}
    assert events.collect(1, timeout=1.5) == []  # the repeat published nothing: one event per change
    with engine.connect() as connection:
        history = connection.execute(sa.text("SELECT status FROM notification_events WHERE notification_id = :id "
                                             "ORDER BY id"), {"id": row["id"]}).scalars().all()
    assert history == ["created", "sending", "delivered"]
