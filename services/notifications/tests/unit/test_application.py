"""The application layer on SQLite (tables from the models), with recording clients."""
import datetime as dt
import json
import smtplib
import uuid

import pytest
import sqlalchemy as sa

from guichet_common.db import Database
from guichet_common.errors import Conflict, InvalidInput, NotFound
from guichet_notifications.adapters.email import EmailIdentity, RecordingEmailClient
from guichet_notifications.adapters.sms import RecordingSmsClient
from guichet_notifications.application import Notifier
from guichet_notifications.domain.delivery import RetryPolicy
from guichet_notifications.models import metadata, notification_events, notifications, outbox, templates

from .. import factories

ACCOUNT = "3f6b1c2e-8d4a-4b7e-9c15-2a7d0e9f4b61"
ACK = {"demande_number": "DEM-2026-000123", "procedure_name": "Inscription scolaire",
       "submitted_at": "2026-03-02T10:15:00+01:00"}


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def notifier(tmp_path, clock):
    database = Database("notifications", f"sqlite:///{tmp_path / 'n.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    identity = EmailIdentity(address="ne-pas-repondre@ville.example", name="Ville de Test")
    renderer = factories.renderer()
    n = Notifier(database, factories.catalog(), renderer, email_client=RecordingEmailClient(identity),
                 sms_client=RecordingSmsClient(), retry=RetryPolicy(base_delay=10, jitter=0, max_attempts=3),
                 retention_days=30, unsubscribe_url="https://ville.example/preferences", clock=clock)
    n.seed_templates()
    yield n
    database.dispose()


def msg():
    return str(uuid.uuid4())


def contact(n, **values):
    data = {"account_id": ACCOUNT, "email": "jeanne.martin@example.org", "phone_mobile": "06 12 34 56 78",
            "phone_personal": None, "preference": "email", "display_name": "Jeanne Martin", **values}
    assert n.update_contact(msg(), data)


def row(n, notification_id):
    with n.db.engine.connect() as c:
        return c.execute(sa.select(notifications).where(notifications.c.id == notification_id)).mappings().one()


def events(n):
    with n.db.engine.connect() as c:
        return [json.loads(b) for b in c.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).scalars()]


def test_a_request_is_recorded_once_then_sent_by_email_in_french(notifier):
    contact(notifier)
    message_id = msg()
    data = {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT}, "personalisation": ACK,
            "reference": "DEM-2026-000123"}
    notification_id = notifier.request(message_id, data, source="demarches")
    assert notifier.request(message_id, data, source="demarches") is None  # duplicate: nothing
    assert row(notifier, notification_id)["status"] == "created"
    assert notifier.deliver_due() == 1
    assert notifier.deliver_due() == 0
    sent = notifier.email_client.messages
    assert len(sent) == 1
    assert sent[0]["To"] == "jeanne.martin@example.org"
    assert sent[0]["Subject"] == "Accusé de réception de votre demande n° DEM-2026-000123"
    assert "Jeanne Martin" in sent[0].get_body(("plain",)).get_content()
    record = row(notifier, notification_id)
    assert record["status"] == "delivered" and record["attempts"] == 1 and record["template_version"] == 1
    [event] = events(notifier)
    assert event["type"] == "fr.guichet.notifications.notification.delivered.v1"
    assert event["data"]["notification_id"] == notification_id and "jeanne" not in json.dumps(event)


def test_preference_sms_and_security_mails_always_by_email(notifier):
    contact(notifier, preference="sms")
    reminder = notifier.request(msg(), {"template": "reminder", "recipient": {"account_id": ACCOUNT},
                                        "personalisation": {"action": "sortir vos encombrants",
                                                            "date": "2026-03-10T07:00:00+01:00"}})
    activation = notifier.request(msg(), {"template": "account_activation", "recipient": {"account_id": ACCOUNT},
                                          "personalisation": {"activation_url": "https://ville.example/a?token=x",
                                                              "expires_at": "2026-03-05T10:00:00+01:00"},
                                          "security": True})
    notifier.deliver_due()
    assert row(notifier, reminder)["channel"] == "sms" and row(notifier, reminder)["recipient_address"] == "+33612345678"
    assert "sortir vos encombrants" in notifier.sms_client.sent[0].text
    assert row(notifier, activation)["channel"] == "email"
    assert len(notifier.email_client.messages) == 1


@pytest.mark.parametrize("data, code", [
    ({"template": "nope", "recipient": {"email": "a@example.org"}}, "unknown_template"),
    ({"template": "demande_acknowledgement", "recipient": {"email": "a@example.org"},
      "personalisation": {"demande_number": "D1"}}, "missing_personalisation"),
    ({"template": "demande_acknowledgement", "recipient": {"email": "pas une adresse@x"},
      "personalisation": ACK}, "invalid_email_address"),
    ({"template": "demande_decision", "recipient": {"phone": "01 23"}, "channel": "sms",
      "personalisation": {"demande_number": "D1", "procedure_name": "P", "decision": "accord",
                          "decided_at": "2026-03-02T10:00:00+01:00"}}, "invalid_phone_number"),
])
def test_bad_input_is_a_recorded_permanent_failure_with_a_reason(notifier, data, code):
    notification_id = notifier.request(msg(), data)
    record = row(notifier, notification_id)
    assert record["status"] == "permanent-failure" and record["failure_code"] == code
    assert record["failure_reason"]
    assert notifier.deliver_due() == 0
    [event] = events(notifier)
    assert event["type"].endswith("notification.failed.v1") and event["data"]["failure_code"] == code


def test_temporary_smtp_failure_is_retried_after_the_backoff_permanent_is_not(notifier, clock):
    notifier.email_client.failures = [smtplib.SMTPResponseException(451, b"greylisted"),
                                      smtplib.SMTPRecipientsRefused({"b@example.org": (550, b"no such user")})]
    first = notifier.request(msg(), {"template": "demande_acknowledgement", "recipient": {"email": "a@example.org"},
                                     "personalisation": ACK})
    notifier.deliver_due()
    record = row(notifier, first)
    assert record["status"] == "temporary-failure" and record["failure_code"] == "smtp_temporary"
    assert record["next_attempt_at"] == clock.now + dt.timedelta(seconds=10)
    assert notifier.deliver_due() == 0  # not yet due
    assert notifier.search(failed=True)["total"] == 0  # still being retried: not among the failed ones
    second = notifier.request(msg(), {"template": "demande_acknowledgement",
                                      "recipient": {"email": "b@example.org"}, "personalisation": ACK})
    notifier.deliver_due()
    assert row(notifier, second)["status"] == "permanent-failure"
    assert row(notifier, second)["next_attempt_at"] is None
    clock.advance(11)
    assert notifier.deliver_due() == 1
    assert row(notifier, first)["status"] == "delivered" and row(notifier, first)["attempts"] == 2
    assert len(notifier.email_client.messages) == 1
    with notifier.db.engine.connect() as c:
        history = c.execute(sa.select(notification_events.c.status).where(
            notification_events.c.notification_id == first).order_by(notification_events.c.id)).scalars().all()
    assert history == ["created", "temporary-failure", "delivered"]


def test_waits_for_the_contact_then_sends(notifier, clock):
    notification_id = notifier.request(msg(), {"template": "demande_acknowledgement",
                                               "recipient": {"account_id": ACCOUNT}, "personalisation": ACK})
    notifier.deliver_due()
    assert row(notifier, notification_id)["failure_code"] == "contact_unknown"
    contact(notifier)
    clock.advance(11)
    notifier.deliver_due()
    assert row(notifier, notification_id)["status"] == "delivered"


def test_retention_purges_content_and_keeps_the_record(notifier, clock):
    notification_id = notifier.request(msg(), {"template": "demande_acknowledgement",
                                               "recipient": {"email": "a@example.org"}, "personalisation": ACK})
    notifier.deliver_due()
    assert notifier.purge() == 0
    clock.advance(31 * 86400)
    assert notifier.purge() == 1
    record = row(notifier, notification_id)
    assert record["personalisation"] is None and record["body"] is None and record["subject"] is None
    assert record["status"] == "delivered"
    with pytest.raises(Conflict):
        notifier.resend(notification_id)


def test_history_search_resend_preview(notifier, clock):
    contact(notifier)
    ids = [notifier.request(msg(), {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT},
                                    "personalisation": ACK}) for _ in range(3)]
    failed = notifier.request(msg(), {"template": "nope", "recipient": {"account_id": ACCOUNT}})
    notifier.deliver_due()
    mine = notifier.list_for_account(ACCOUNT, page=1, page_size=2)
    assert mine["total"] == 4 and len(mine["items"]) == 2 and "recipient_address" not in mine["items"][0]
    assert notifier.list_for_account("someone-else")["total"] == 0
    assert [i["id"] for i in notifier.search(failed=True)["items"]] == [failed]
    assert notifier.search(recipient="JEANNE.martin@example.org")["total"] == 3
    assert notifier.search(template="demande_acknowledgement", status="delivered")["total"] == 3
    resent = notifier.resend(ids[0], "agent-1")
    notifier.deliver_due()
    assert row(notifier, resent["id"])["status"] == "delivered" and len(notifier.email_client.messages) == 4
    with pytest.raises(NotFound):
        notifier.resend(str(uuid.uuid4()))
    preview = notifier.preview("reminder", {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"},
                               "sms")
    assert preview["segments"] == 1 and "encombrants" in preview["text"]
    with pytest.raises(InvalidInput):
        notifier.preview("reminder", {}, "email")


def test_a_changed_template_gets_a_new_version(notifier):
    with notifier.db.engine.begin() as c:
        c.execute(templates.update().where(templates.c.name == "reminder").values(checksum="old"))
    versions = notifier.seed_templates()
    assert versions["reminder"] == 2 and versions["town_message"] == 1


def test_the_payment_receipt_carries_its_pdf_and_a_bad_file_is_a_failure(notifier):
    import base64

    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    receipt = {"amount_cents": 4250, "invoice_number": "F-2026-0042", "regie_name": "Régie scolaire",
               "paid_at": "2026-03-02T10:15:00+01:00"}
    good = notifier.request(msg(), {"template": "payment_receipt", "recipient": {"email": "a@example.org"},
                                    "personalisation": receipt, "attachments": [
                                        {"filename": "recu-F-2026-0042.pdf", "content_type": "application/pdf",
                                         "content_base64": base64.b64encode(pdf).decode()}]})
    bad = notifier.request(msg(), {"template": "payment_receipt", "recipient": {"email": "a@example.org"},
                                   "personalisation": receipt, "attachments": [
                                       {"filename": "recu.pdf", "content_type": "application/pdf",
                                        "content_base64": "pas du base64 !"}]})
    notifier.deliver_due()
    assert row(notifier, bad)["failure_code"] == "invalid_attachment"
    assert row(notifier, good)["status"] == "delivered"
    [mail] = notifier.email_client.messages
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "recu-F-2026-0042.pdf" and part.get_content() == pdf
    assert "42,50" in mail.get_body(("plain",)).get_content()


def test_non_essential_mails_carry_list_unsubscribe_and_need_a_way_out(notifier):
    reminder = {"template": "reminder", "recipient": {"email": "a@example.org"},
                "personalisation": {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}}
    notifier.request(msg(), reminder)
    notifier.deliver_due()
    notifier.unsubscribe_url, notifier.unsubscribe_mailto = None, "mairie@ville.example"
    notifier.request(msg(), reminder)
    notifier.deliver_due()
    notifier.unsubscribe_mailto = None
    refused = notifier.request(msg(), reminder)
    with_url, with_mailto = notifier.email_client.messages
    assert with_url["List-Unsubscribe"] == "<https://ville.example/preferences>"
    assert with_mailto["List-Unsubscribe"] == "<mailto:mairie@ville.example?subject=unsubscribe>"
    assert row(notifier, refused)["failure_code"] == "missing_unsubscribe"


# --- one-click unsubscribe and preferences ------------------------------------------------

REMINDER = {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}
UNSUBSCRIBE_URL = "https://ville.example/api/v1/notifications/unsubscribe"


@pytest.fixture
def signed(notifier):
    from guichet_notifications.domain.unsubscribe import UnsubscribeTokens

    notifier.unsubscribe_url = UNSUBSCRIBE_URL
    notifier.unsubscribe_tokens = UnsubscribeTokens([b"k" * 32])
    return notifier


def reminder(n, recipient=None, **extra):
    return n.request(msg(), {"template": "reminder", "recipient": recipient or {"account_id": ACCOUNT},
                             "personalisation": REMINDER, **extra})


def token_of(mail):
    from urllib.parse import parse_qs, urlsplit

    [link] = [part.strip(" <>") for part in mail["List-Unsubscribe"].split(",") if "https://" in part]
    assert link.startswith(UNSUBSCRIBE_URL + "?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_the_one_click_link_stops_non_essential_messages_and_nothing_else(signed, clock):
    contact(signed)
    reminder(signed)
    signed.deliver_due()
    [mail] = signed.email_client.messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(mail)
    assert f"{UNSUBSCRIBE_URL}?token={token}" in mail.get_body(("plain",)).get_content()  # the footer link too
    assert signed.preferences(ACCOUNT)["non_essential"] is True
    assert signed.unsubscribe(token) == {"unsubscribed": True, "scope": "non_essential"}
    assert signed.unsubscribe(token) == {"unsubscribed": True, "scope": "non_essential"}  # idempotent
    assert signed.preferences(ACCOUNT)["non_essential"] is False

    blocked_mail = reminder(signed)
    blocked_sms = reminder(signed, channel="sms")
    acknowledgement = signed.request(msg(), {"template": "demande_acknowledgement",
                                             "recipient": {"account_id": ACCOUNT}, "personalisation": ACK})
    decision_sms = signed.request(msg(), {"template": "demande_decision", "recipient": {"account_id": ACCOUNT},
                                          "channel": "sms", "personalisation": {
                                              "demande_number": "D1", "procedure_name": "P", "decision": "accord",
                                              "decided_at": "2026-03-02T10:00:00+01:00"}})
    signed.deliver_due()
    for notification_id in (blocked_mail, blocked_sms):
        record = row(signed, notification_id)
        assert record["status"] == "permanent-failure" and record["failure_code"] == "unsubscribed"
        assert "désinscrit" in record["failure_reason"] and record["essential"] is False
        assert record["next_attempt_at"] is None
    assert row(signed, acknowledgement)["status"] == "delivered"  # essential: always sent
    assert row(signed, decision_sms)["status"] == "delivered"
    assert len(signed.email_client.messages) == 2 and len(signed.sms_client.sent) == 1
    assert "List-Unsubscribe" not in signed.email_client.messages[1]
    failed = [e for e in events(signed) if e["type"].endswith("notification.failed.v1")]
    assert {e["data"]["notification_id"] for e in failed} == {blocked_mail, blocked_sms}
    assert {e["data"]["failure_code"] for e in failed} == {"unsubscribed"}
    assert {e["data"]["status"] for e in failed} == {"permanent-failure"}
    found = signed.search(failed=True)  # what an agent sees
    assert {i["id"] for i in found["items"]} == {blocked_mail, blocked_sms}
    assert {i["failure_code"] for i in found["items"]} == {"unsubscribed"}
    assert signed.search(status="permanent-failure", recipient=ACCOUNT)["total"] == 2
    mine = signed.list_for_account(ACCOUNT)["items"]
    assert {i["failure_reason"] for i in mine if i["status"] == "permanent-failure"} == {
        "non envoyé : le destinataire s'est désinscrit des messages non essentiels"}


def test_contact_updates_keep_the_opt_out_and_the_citizen_can_opt_back_in(signed, clock):
    assert signed.set_preferences(ACCOUNT, False)["non_essential"] is False  # before any contact details
    contact(signed)
    contact(signed, email="jeanne.nouvelle@example.org", preference="sms")  # accounts re-sends the contact
    assert signed.preferences(ACCOUNT)["non_essential"] is False
    assert row(signed, reminder(signed))["failure_code"] == "unsubscribed"
    answer = signed.set_preferences(ACCOUNT, True)
    assert answer["non_essential"] is True and answer["updated_at"] == clock.now.isoformat()
    assert set(answer["non_essential_templates"]) == {"reminder", "invoice_available", "demande_status_changed",
                                                      "family_account_statement"}
    sent = reminder(signed)
    signed.deliver_due()
    assert row(signed, sent)["status"] == "delivered"
    assert signed.preferences("another-account")["non_essential"] is True  # one account's choice only


def test_an_opt_out_between_request_and_delivery_stops_the_message(signed, clock):
    contact(signed)
    signed.email_client.failures = [smtplib.SMTPResponseException(451, b"greylisted")]
    waiting = reminder(signed)
    signed.deliver_due()
    assert row(signed, waiting)["status"] == "temporary-failure"
    signed.set_preferences(ACCOUNT, False)
    clock.advance(11)
    assert signed.deliver_due() == 1
    record = row(signed, waiting)
    assert record["status"] == "permanent-failure" and record["failure_code"] == "unsubscribed"
    assert signed.email_client.messages == []


def test_a_recipient_without_an_account_is_unsubscribed_by_address(signed):
    reminder(signed, {"email": "voisin@example.org"})
    signed.deliver_due()
    [mail] = signed.email_client.messages
    token = token_of(mail)
    assert "voisin" not in token
    signed.unsubscribe(token)
    blocked = reminder(signed, {"email": "Voisin@Example.org"})
    other = reminder(signed, {"email": "autre@example.org"})
    signed.deliver_due()
    assert row(signed, blocked)["failure_code"] == "unsubscribed"
    assert row(signed, other)["status"] == "delivered"
    from guichet_notifications.models import recipient_preferences

    with signed.db.engine.connect() as c:
        stored = c.execute(sa.select(recipient_preferences)).mappings().all()
    assert [(r["non_essential"], r["source"]) for r in stored] == [(False, "one-click")]
    assert "voisin" not in stored[0]["recipient"]  # a digest, not the address


def test_invalid_and_expired_links_are_french_problems(signed, clock):
    from guichet_notifications.domain.unsubscribe import UnsubscribeTokens
    from guichet_notifications.exceptions import ExpiredUnsubscribeLink, InvalidUnsubscribeLink

    good = signed.unsubscribe_tokens.issue("account:" + ACCOUNT, clock.now)
    forged = UnsubscribeTokens([b"x" * 32]).issue("account:" + ACCOUNT, clock.now)
    for bad in (forged, "v1.abc.def", "", None, good[:-1] + ("A" if good[-1] != "A" else "B")):
        with pytest.raises(InvalidUnsubscribeLink) as error:
            signed.unsubscribe(bad)
        problem = error.value.problem()
        assert problem["type"] == "urn:guichet:problem:unsubscribe-link-invalid" and problem["status"] == 400
        assert problem["detail"].startswith("Ce lien de désinscription n'est pas valide")
    clock.advance(366 * 86400)
    with pytest.raises(ExpiredUnsubscribeLink) as expired:
        signed.unsubscribe(good)
    assert expired.value.problem()["type"] == "urn:guichet:problem:unsubscribe-link-expired"
    assert "expiré" in expired.value.problem()["detail"]
    assert signed.preferences(ACCOUNT)["non_essential"] is True  # nothing recorded
