"""The application layer on SQLite (tables from the models), with recording clients."""
import datetime as dt
import json
import smtplib
import uuid

import pytest
import sqlalchemy as sa

from guichet_notifications.domain.delivery import RetryPolicy
from guichet_notifications.domain.unsubscribe import UnsubscribeLinks
from guichet_notifications.exceptions import ContentPurged, NotificationNotFound, PreviewImpossible
from guichet_notifications.models import notification_events, templates

from .. import factories
from ..factories import ACCOUNT, ACK

events = factories.published
row = factories.notification
msg = factories.message_id
contact = factories.contact


@pytest.fixture
def clock():
    return factories.Clock()


@pytest.fixture
def notifier(tmp_path, clock):
    with factories.application(tmp_path, clock, retry=RetryPolicy(base_delay=10, jitter=0, max_attempts=3),
                               retention_days=30,
                               unsubscribe=UnsubscribeLinks(url="https://ville.example/preferences")) as app:
        yield app


def test_a_request_is_recorded_once_then_sent_by_email_in_french(notifier):
    contact(notifier)
    message_id = msg()
    data = {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT}, "personalisation": ACK,
            "reference": "DEM-2026-000123"}
    notification_id = notifier.intake.request(message_id, data, source="demarches")
    assert notifier.intake.request(message_id, data, source="demarches") is None  # duplicate: nothing
    assert row(notifier, notification_id)["status"] == "created"
    assert notifier.delivery.deliver_due() == 1
    assert notifier.delivery.deliver_due() == 0
    sent = notifier.ctx.email_client.messages
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
    reminder = notifier.intake.request(msg(), {"template": "reminder", "recipient": {"account_id": ACCOUNT},
                                        "personalisation": {"action": "sortir vos encombrants",
                                                            "date": "2026-03-10T07:00:00+01:00"}})
    activation = notifier.intake.request(msg(), {"template": "account_activation", "recipient": {"account_id": ACCOUNT},
                                          "personalisation": {"activation_url": "https://ville.example/a?token=x",
                                                              "expires_at": "2026-03-05T10:00:00+01:00"},
                                          "security": True})
    notifier.delivery.deliver_due()
    assert row(notifier, reminder)["channel"] == "sms" and row(notifier, reminder)["recipient_address"] == "+33612345678"
    assert "sortir vos encombrants" in notifier.ctx.sms_client.sent[0].text
    assert row(notifier, activation)["channel"] == "email"
    assert len(notifier.ctx.email_client.messages) == 1


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
    notification_id = notifier.intake.request(msg(), data)
    record = row(notifier, notification_id)
    assert record["status"] == "permanent-failure" and record["failure_code"] == code
    assert record["failure_reason"]
    assert notifier.delivery.deliver_due() == 0
    [event] = events(notifier)
    assert event["type"].endswith("notification.failed.v1") and event["data"]["failure_code"] == code


def test_temporary_smtp_failure_is_retried_after_the_backoff_permanent_is_not(notifier, clock):
    notifier.ctx.email_client.failures = [smtplib.SMTPResponseException(451, b"greylisted"),
                                      smtplib.SMTPRecipientsRefused({"b@example.org": (550, b"no such user")})]
    first = notifier.intake.request(msg(), {"template": "demande_acknowledgement", "recipient": {"email": "a@example.org"},
                                     "personalisation": ACK})
    notifier.delivery.deliver_due()
    record = row(notifier, first)
    assert record["status"] == "temporary-failure" and record["failure_code"] == "smtp_temporary"
    assert record["next_attempt_at"] == clock.now + dt.timedelta(seconds=10)
    assert notifier.delivery.deliver_due() == 0  # not yet due
    assert notifier.history.search(failed=True)["items"] == []  # still being retried: not among the failed ones
    second = notifier.intake.request(msg(), {"template": "demande_acknowledgement",
                                      "recipient": {"email": "b@example.org"}, "personalisation": ACK})
    notifier.delivery.deliver_due()
    assert row(notifier, second)["status"] == "permanent-failure"
    assert row(notifier, second)["next_attempt_at"] is None
    clock.advance(11)
    assert notifier.delivery.deliver_due() == 1
    assert row(notifier, first)["status"] == "delivered" and row(notifier, first)["attempts"] == 2
    assert len(notifier.ctx.email_client.messages) == 1
    with notifier.ctx.database.engine.connect() as c:
        history = c.execute(sa.select(notification_events.c.status).where(
            notification_events.c.notification_id == first).order_by(notification_events.c.id)).scalars().all()
    assert history == ["created", "temporary-failure", "delivered"]


def test_waits_for_the_contact_then_sends(notifier, clock):
    notification_id = notifier.intake.request(msg(), {"template": "demande_acknowledgement",
                                               "recipient": {"account_id": ACCOUNT}, "personalisation": ACK})
    notifier.delivery.deliver_due()
    assert row(notifier, notification_id)["failure_code"] == "contact_unknown"
    contact(notifier)
    clock.advance(11)
    notifier.delivery.deliver_due()
    assert row(notifier, notification_id)["status"] == "delivered"


def test_retention_purges_content_and_keeps_the_record(notifier, clock):
    notification_id = notifier.intake.request(msg(), {"template": "demande_acknowledgement",
                                               "recipient": {"email": "a@example.org"}, "personalisation": ACK})
    notifier.delivery.deliver_due()
    assert notifier.housekeeping.purge() == 0
    clock.advance(31 * 86400)
    assert notifier.housekeeping.purge() == 1
    record = row(notifier, notification_id)
    assert record["personalisation"] is None and record["body"] is None and record["subject"] is None
    assert record["status"] == "delivered"
    with pytest.raises(ContentPurged):
        notifier.history.resend(notification_id)


def test_history_search_resend_preview(notifier, clock):
    contact(notifier)
    ids = [notifier.intake.request(msg(), {"template": "demande_acknowledgement", "recipient": {"account_id": ACCOUNT},
                                    "personalisation": ACK}) for _ in range(3)]
    failed = notifier.intake.request(msg(), {"template": "nope", "recipient": {"account_id": ACCOUNT}})
    notifier.delivery.deliver_due()
    first = notifier.history.my_notifications(ACCOUNT, limit=2)
    second = notifier.history.my_notifications(ACCOUNT, cursor=first["next_cursor"], limit=2)
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert {i["id"] for i in first["items"] + second["items"]} == {*ids, failed}
    assert notifier.history.my_notifications("someone-else") == {"items": [], "next_cursor": None}
    assert [i["id"] for i in notifier.history.search(failed=True)["items"]] == [failed]
    assert len(notifier.history.search(recipient="JEANNE.martin@example.org")["items"]) == 3
    assert len(notifier.history.search(template="demande_acknowledgement", status="delivered")["items"]) == 3
    resent = notifier.history.resend(ids[0], "agent-1")
    notifier.delivery.deliver_due()
    assert row(notifier, resent["id"])["status"] == "delivered" and len(notifier.ctx.email_client.messages) == 4
    with pytest.raises(NotificationNotFound):
        notifier.history.resend(str(uuid.uuid4()))
    preview = notifier.templates.preview("reminder", {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"},
                               "sms")
    assert preview["segments"] == 1 and "encombrants" in preview["text"]
    with pytest.raises(PreviewImpossible):
        notifier.templates.preview("reminder", {}, "email")


def test_a_changed_template_gets_a_new_version(notifier):
    with notifier.ctx.database.engine.begin() as c:
        c.execute(templates.update().where(templates.c.name == "reminder").values(checksum="old"))
    versions = notifier.templates.seed()
    assert versions["reminder"] == 2 and versions["town_message"] == 1


def test_the_payment_receipt_carries_its_pdf_and_a_bad_file_is_a_failure(notifier):
    import base64

    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    receipt = {"amount_cents": 4250, "invoice_number": "F-2026-0042", "regie_name": "Régie scolaire",
               "paid_at": "2026-03-02T10:15:00+01:00"}
    good = notifier.intake.request(msg(), {"template": "payment_receipt", "recipient": {"email": "a@example.org"},
                                    "personalisation": receipt, "attachments": [
                                        {"filename": "recu-F-2026-0042.pdf", "content_type": "application/pdf",
                                         "content_base64": base64.b64encode(pdf).decode()}]})
    bad = notifier.intake.request(msg(), {"template": "payment_receipt", "recipient": {"email": "a@example.org"},
                                   "personalisation": receipt, "attachments": [
                                       {"filename": "recu.pdf", "content_type": "application/pdf",
                                        "content_base64": "pas du base64 !"}]})
    notifier.delivery.deliver_due()
    assert row(notifier, bad)["failure_code"] == "invalid_attachment"
    assert row(notifier, good)["status"] == "delivered"
    [mail] = notifier.ctx.email_client.messages
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "recu-F-2026-0042.pdf" and part.get_content() == pdf
    assert "42,50" in mail.get_body(("plain",)).get_content()


def test_non_essential_mails_carry_list_unsubscribe_and_need_a_way_out(notifier):
    reminder = {"template": "reminder", "recipient": {"email": "a@example.org"},
                "personalisation": {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}}
    notifier.intake.request(msg(), reminder)
    notifier.delivery.deliver_due()
    notifier.ctx.unsubscribe.url, notifier.ctx.unsubscribe.mailto = None, "mairie@ville.example"
    notifier.intake.request(msg(), reminder)
    notifier.delivery.deliver_due()
    notifier.ctx.unsubscribe.mailto = None
    refused = notifier.intake.request(msg(), reminder)
    with_url, with_mailto = notifier.ctx.email_client.messages
    assert with_url["List-Unsubscribe"] == "<https://ville.example/preferences>"
    assert with_mailto["List-Unsubscribe"] == "<mailto:mairie@ville.example?subject=unsubscribe>"
    assert row(notifier, refused)["failure_code"] == "missing_unsubscribe"


# --- one-click unsubscribe and preferences ------------------------------------------------

UNSUBSCRIBE_URL = "https://ville.example/api/v1/notifications/unsubscribe"


@pytest.fixture
def signed(notifier):
    from guichet_notifications.domain.unsubscribe import UnsubscribeTokens

    notifier.ctx.unsubscribe.url = UNSUBSCRIBE_URL
    notifier.ctx.unsubscribe.tokens = UnsubscribeTokens([b"k" * 32])
    return notifier


def reminder(n, recipient=None, **extra):
    return factories.request(n, "reminder", recipient, **extra)


def token_of(mail):
    from urllib.parse import parse_qs, urlsplit

    [link] = [part.strip(" <>") for part in mail["List-Unsubscribe"].split(",") if "https://" in part]
    assert link.startswith(UNSUBSCRIBE_URL + "?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_the_one_click_link_stops_non_essential_messages_and_nothing_else(signed, clock):
    contact(signed)
    reminder(signed)
    signed.delivery.deliver_due()
    [mail] = signed.ctx.email_client.messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(mail)
    assert f"{UNSUBSCRIBE_URL}?token={token}" in mail.get_body(("plain",)).get_content()  # the footer link too
    assert signed.preferences.preferences(ACCOUNT)["non_essential"] is True
    assert signed.preferences.unsubscribe(token) == {"unsubscribed": True, "scope": "non_essential"}
    assert signed.preferences.unsubscribe(token) == {"unsubscribed": True, "scope": "non_essential"}  # idempotent
    assert signed.preferences.preferences(ACCOUNT)["non_essential"] is False

    blocked_mail = reminder(signed)
    blocked_sms = reminder(signed, channel="sms")
    acknowledgement = signed.intake.request(msg(), {"template": "demande_acknowledgement",
                                             "recipient": {"account_id": ACCOUNT}, "personalisation": ACK})
    decision_sms = signed.intake.request(msg(), {"template": "demande_decision", "recipient": {"account_id": ACCOUNT},
                                          "channel": "sms", "personalisation": {
                                              "demande_number": "D1", "procedure_name": "P", "decision": "accord",
                                              "decided_at": "2026-03-02T10:00:00+01:00"}})
    signed.delivery.deliver_due()
    for notification_id in (blocked_mail, blocked_sms):
        record = row(signed, notification_id)
        assert record["status"] == "permanent-failure" and record["failure_code"] == "unsubscribed"
        assert "désinscrit" in record["failure_reason"] and record["essential"] is False
        assert record["next_attempt_at"] is None
    assert row(signed, acknowledgement)["status"] == "delivered"  # essential: always sent
    assert row(signed, decision_sms)["status"] == "delivered"
    assert len(signed.ctx.email_client.messages) == 2 and len(signed.ctx.sms_client.sent) == 1
    assert "List-Unsubscribe" not in signed.ctx.email_client.messages[1]
    failed = [e for e in events(signed) if e["type"].endswith("notification.failed.v1")]
    assert {e["data"]["notification_id"] for e in failed} == {blocked_mail, blocked_sms}
    assert {e["data"]["failure_code"] for e in failed} == {"unsubscribed"}
    assert {e["data"]["status"] for e in failed} == {"permanent-failure"}
    found = signed.history.search(failed=True)  # what an agent sees
    assert {i["id"] for i in found["items"]} == {blocked_mail, blocked_sms}
    assert {i["failure_code"] for i in found["items"]} == {"unsubscribed"}
    assert len(signed.history.search(status="permanent-failure", recipient=ACCOUNT)["items"]) == 2
    mine = signed.history.my_notifications(ACCOUNT)["items"]
    assert {i["failure_reason"] for i in mine if i["status"] == "permanent-failure"} == {
        "non envoyé : le destinataire s'est désinscrit des messages non essentiels"}


def test_contact_updates_keep_the_opt_out_and_the_citizen_can_opt_back_in(signed, clock):
    assert signed.preferences.set_preferences(ACCOUNT, False)["non_essential"] is False  # before any contact details
    contact(signed)
    contact(signed, email="jeanne.nouvelle@example.org", preference="sms")  # accounts re-sends the contact
    assert signed.preferences.preferences(ACCOUNT)["non_essential"] is False
    assert row(signed, reminder(signed))["failure_code"] == "unsubscribed"
    answer = signed.preferences.set_preferences(ACCOUNT, True)
    assert answer["non_essential"] is True and answer["updated_at"] == clock.now
    assert set(answer["non_essential_templates"]) == {"reminder", "invoice_available", "demande_status_changed",
                                                      "family_account_statement"}
    sent = reminder(signed)
    signed.delivery.deliver_due()
    assert row(signed, sent)["status"] == "delivered"
    assert signed.preferences.preferences("another-account")["non_essential"] is True  # one account's choice only


def test_an_opt_out_between_request_and_delivery_stops_the_message(signed, clock):
    contact(signed)
    signed.ctx.email_client.failures = [smtplib.SMTPResponseException(451, b"greylisted")]
    waiting = reminder(signed)
    signed.delivery.deliver_due()
    assert row(signed, waiting)["status"] == "temporary-failure"
    signed.preferences.set_preferences(ACCOUNT, False)
    clock.advance(11)
    assert signed.delivery.deliver_due() == 1
    record = row(signed, waiting)
    assert record["status"] == "permanent-failure" and record["failure_code"] == "unsubscribed"
    assert signed.ctx.email_client.messages == []


def test_a_recipient_without_an_account_is_unsubscribed_by_address(signed):
    reminder(signed, {"email": "voisin@example.org"})
    signed.delivery.deliver_due()
    [mail] = signed.ctx.email_client.messages
    token = token_of(mail)
    assert "voisin" not in token
    signed.preferences.unsubscribe(token)
    blocked = reminder(signed, {"email": "Voisin@Example.org"})
    other = reminder(signed, {"email": "autre@example.org"})
    signed.delivery.deliver_due()
    assert row(signed, blocked)["failure_code"] == "unsubscribed"
    assert row(signed, other)["status"] == "delivered"
    from guichet_notifications.models import recipient_preferences

    with signed.ctx.database.engine.connect() as c:
        stored = c.execute(sa.select(recipient_preferences)).mappings().all()
    assert [(r["non_essential"], r["source"]) for r in stored] == [(False, "one-click")]
    assert "voisin" not in stored[0]["recipient"]  # a digest, not the address


def test_invalid_and_expired_links_are_french_problems(signed, clock):
    from guichet_notifications.domain.unsubscribe import UnsubscribeTokens
    from guichet_notifications.exceptions import ExpiredUnsubscribeLink, InvalidUnsubscribeLink

    good = signed.ctx.unsubscribe.tokens.issue("account:" + ACCOUNT, clock.now)
    forged = UnsubscribeTokens([b"x" * 32]).issue("account:" + ACCOUNT, clock.now)
    for bad in (forged, "v1.abc.def", "", None, good[:-1] + ("A" if good[-1] != "A" else "B")):
        with pytest.raises(InvalidUnsubscribeLink) as error:
            signed.preferences.unsubscribe(bad)
        problem = error.value.problem()
        assert problem["type"] == "urn:guichet:problem:unsubscribe-link-invalid" and problem["status"] == 400
        assert problem["detail"].startswith("Ce lien de désinscription n'est pas valide")
    clock.advance(366 * 86400)
    with pytest.raises(ExpiredUnsubscribeLink) as expired:
        signed.preferences.unsubscribe(good)
    assert expired.value.problem()["type"] == "urn:guichet:problem:unsubscribe-link-expired"
    assert "expiré" in expired.value.problem()["detail"]
    assert signed.preferences.preferences(ACCOUNT)["non_essential"] is True  # nothing recorded
