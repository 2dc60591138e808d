"""SMS delivery reports: the provider status mapping, the allowed transitions, the secret check, the settings
that give each SMS its callback URL, and the application layer on SQLite."""
import datetime as dt
import json
import uuid

import pytest
import sqlalchemy as sa

from guichet_common import smsreports
from guichet_common.db import Database
from guichet_notifications.adapters.email import EmailIdentity, RecordingEmailClient
from guichet_notifications.adapters.sms import SmsClient
from guichet_notifications.application import Notifier
from guichet_notifications.domain import reports
from guichet_notifications.domain.delivery import NotificationStatus as S
from guichet_notifications.domain.delivery import SendReceipt, TemporaryFailure
from guichet_notifications.domain.templates import TownBranding
from guichet_notifications.exceptions import SmsReportForbidden, UnknownSmsProvider
from guichet_notifications.models import metadata, notification_events, notifications, outbox
from guichet_notifications.settings import SettingsError, load_settings

from .. import factories

SECRET = "s" * 40
OLD = "o" * 40
TOWN = {"name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.example"}


# --- mapping and transitions ------------------------------------------------------------------

@pytest.mark.parametrize("word, status, code", [
    ("delivered", S.DELIVERED, None),
    ("DELIVERED", S.DELIVERED, None),
    ("hard_bounce", S.PERMANENT_FAILURE, "sms_hard_bounce"),
    ("hardBounce", S.PERMANENT_FAILURE, "sms_hard_bounce"),
    ("rejected", S.PERMANENT_FAILURE, "sms_rejected"),
    ("blocked", S.PERMANENT_FAILURE, "sms_blocked"),
    ("unsubscribe", S.PERMANENT_FAILURE, "sms_blocked"),
    ("soft_bounce", S.TEMPORARY_FAILURE, "sms_soft_bounce"),
    ("softBounce", S.TEMPORARY_FAILURE, "sms_soft_bounce"),
    ("sent", None, None), ("accepted", None, None), ("replied", None, None), ("n'importe quoi", None, None),
    (None, None, None),
])
def test_brevo_statuses_map_to_notify_statuses_with_a_french_reason(word, status, code):
    outcome = reports.brevo_outcome(word)
    assert outcome.status == status and outcome.code == code
    if status in (S.PERMANENT_FAILURE, S.TEMPORARY_FAILURE):
        assert outcome.reason.startswith("SMS ") and "numéro" not in outcome.reason.split(":")[0]


@pytest.mark.parametrize("current, word, expected", [
    ("sending", "delivered", S.DELIVERED),
    ("sent", "delivered", S.DELIVERED),
    ("sending", "hard_bounce", S.PERMANENT_FAILURE),
    ("sent", "hard_bounce", S.PERMANENT_FAILURE),
    ("delivered", "hard_bounce", S.PERMANENT_FAILURE),     # a bounce after a delivery report
    ("sending", "soft_bounce", S.TEMPORARY_FAILURE),
    ("sent", "soft_bounce", None),                          # sent -> temporary-failure is not a transition
    ("delivered", "soft_bounce", None),
    ("temporary-failure", "delivered", S.DELIVERED),        # the operator got through after all
    ("temporary-failure", "hard_bounce", S.PERMANENT_FAILURE),
    ("delivered", "delivered", None),                       # a repeat
    ("permanent-failure", "delivered", None),               # final
    ("technical-failure", "delivered", None),
    ("created", "delivered", None),                         # never accepted: not a report's business
    ("sending", "sent", None),
])
def test_a_report_moves_only_along_the_domain_transitions(current, word, expected):
    assert reports.new_status(current, reports.brevo_outcome(word)) == expected


def test_brevo_references_prefer_the_stored_message_id():
    assert reports.brevo_references({"messageId": 15118829, "reference": "ab1c"}) == ["15118829", "ab1c"]
    assert reports.brevo_references({"reference": "ab1c"}) == ["ab1c"]
    assert reports.brevo_references({"messageId": True, "reference": ""}) == []


# --- the secret -------------------------------------------------------------------------------

def test_the_secret_check_is_per_provider_and_accepts_every_secret_of_a_rotation():
    secrets = {"brevo": (SECRET, OLD)}
    smsreports.check(secrets, "brevo", SECRET)
    smsreports.check(secrets, "brevo", OLD)
    for token in (None, "", SECRET[:-1], SECRET + "x", "é" * 40, 12):
        with pytest.raises(SmsReportForbidden) as refused:
            smsreports.check(secrets, "brevo", token)
        assert refused.value.problem()["status"] == 403
    with pytest.raises(UnknownSmsProvider) as unknown:
        smsreports.check(secrets, "autre", SECRET)
    assert unknown.value.problem()["type"] == "urn:guichet:problem:sms-provider-unknown"


def test_report_secrets_come_from_the_provider_entry_or_the_variable_it_names():
    town = {"notifications": {"sms_providers": [
        {"type": "brevo", "name": "brevo", "report_secret_env": "BREVO_REPORTS"},
        {"type": "brevo", "report_secret": SECRET},
        {"type": "brevo", "name": "muet"},
        {"type": "file", "name": "dev-file", "report_secret": SECRET}]}}
    assert smsreports.report_secrets(town, {"BREVO_REPORTS": f"{SECRET}, {OLD}"}) == {
        "brevo": (SECRET, OLD), "brevo-2": (SECRET,)}
    with pytest.raises(smsreports.ReportSettingsError, match="BREVO_REPORTS"):
        smsreports.report_secrets(town, {})
    with pytest.raises(smsreports.ReportSettingsError, match="32 characters"):
        smsreports.report_secrets(town, {"BREVO_REPORTS": "trop-court"})


# --- settings ---------------------------------------------------------------------------------

def _brevo(**extra):
    return {**TOWN, "notifications": {"sms_providers": [
        {"type": "brevo", "name": "brevo", "api_key": "k", "sender": "VILLE", **extra}]}}


def test_a_provider_with_a_report_secret_is_given_the_callback_url_with_its_token(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path), "BREVO_REPORTS": f"{SECRET},{OLD}"}
    settings = load_settings(_brevo(report_secret_env="BREVO_REPORTS"), env)
    [(client, _)] = settings.sms_routes()
    assert client.config.status_callback_url == \
        f"https://ville.example/api/v1/notifications/sms-reports/brevo?token={SECRET}"
    assert settings.sms_report_secrets() == {"brevo": (SECRET, OLD)}
    moved = load_settings(_brevo(report_secret_env="BREVO_REPORTS",
                                 report_url="https://api.ville.example/api/v1/notifications/sms-reports/brevo"), env)
    [(client, _)] = moved.sms_routes()
    assert client.config.status_callback_url.startswith("https://api.ville.example/api/v1/notifications/")
    [(plain, _)] = load_settings(_brevo(), env).sms_routes()
    assert plain.config.status_callback_url is None  # no secret, no reports: an accepted SMS ends as sent


def test_unusable_report_settings_stop_the_start(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="REPORTS_UNSET"):
        load_settings(_brevo(report_secret_env="REPORTS_UNSET"), env).sms_routes()
    with pytest.raises(SettingsError, match="https"):
        load_settings({**_brevo(report_secret=SECRET), "public_url": "http://127.0.0.1:8000"}, env).sms_routes()
    with pytest.raises(SettingsError):
        load_settings(_brevo(report_url="http://api.ville.example/x"), env)


# --- the application layer --------------------------------------------------------------------

class AcceptingProvider(SmsClient):
    """Accepts every SMS with a delivery receipt to come, as Brevo with a callback URL."""

    name = "brevo"

    def __init__(self):
        self.sent = []
        self.failures = []

    def send(self, message):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SendReceipt(provider="brevo", reference=str(1511882900176220 + len(self.sent)), status=S.SENDING,
                           detail="HTTP 201")


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def notifier(tmp_path):
    database = Database("notifications", f"sqlite:///{tmp_path / 'n.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    n = Notifier(database, factories.catalog(), factories.renderer(TownBranding(name="Ville de Test")),
                 email_client=RecordingEmailClient(EmailIdentity(address="ne-pas-repondre@ville.example",
                                                                 name="Ville de Test")),
                 sms_client=AcceptingProvider(), sms_report_secrets={"brevo": (SECRET,)}, clock=Clock())
    n.seed_templates()
    yield n
    database.dispose()


def sms(n):
    notification_id = n.request(str(uuid.uuid4()), {
        "template": "reminder", "recipient": {"phone": "06 12 34 56 78"}, "reference": "R-1",
        "personalisation": {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}})
    n.deliver_due()
    return notification_id


def record(n, notification_id):
    with n.db.engine.connect() as c:
        row = c.execute(sa.select(notifications).where(notifications.c.id == notification_id)).mappings().one()
        history = c.execute(sa.select(notification_events.c.status, notification_events.c.detail)
                            .where(notification_events.c.notification_id == notification_id)
                            .order_by(notification_events.c.id)).all()
    return row, history


def published(n):
    with n.db.engine.connect() as c:
        return [json.loads(b) for b in c.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).scalars()]


def report(status, message_id=1511882900176221, **extra):
    return {"msg_status": status, "messageId": message_id, "reference": "ab1cde2fgh3i4jklmno", **extra}


def test_the_provider_message_id_is_kept_and_a_delivered_report_is_applied_once(notifier):
    notification_id = sms(notifier)
    row, _ = record(notifier, notification_id)
    assert (row["status"], row["provider"], row["provider_reference"]) == ("sending", "brevo", "1511882900176221")
    assert [e["data"]["status"] for e in published(notifier)] == ["sent"]  # accepted: as before
    assert notifier.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "updated"}
    assert notifier.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "unchanged"}
    assert notifier.sms_report("brevo", SECRET, report("sent")) == {"outcome": "unchanged"}
    row, history = record(notifier, notification_id)
    assert row["status"] == "delivered" and row["failure_code"] is None
    assert [status for status, _ in history] == ["created", "sending", "delivered"]
    events = published(notifier)
    assert [(e["type"].split(".")[-2], e["data"]["status"]) for e in events] == [("delivered", "sent"),
                                                                                 ("delivered", "delivered")]
    assert "+336" not in json.dumps(events) and "0612" not in json.dumps([list(h) for h in history])


def test_a_hard_bounce_is_a_permanent_failure_with_a_french_reason_and_one_failed_event(notifier):
    notification_id = sms(notifier)
    notifier.sms_report("brevo", SECRET, report("hard_bounce", to="33612345678"))
    notifier.sms_report("brevo", SECRET, report("hard_bounce"))
    notifier.sms_report("brevo", SECRET, report("delivered"))  # after a final failure: changes nothing
    row, history = record(notifier, notification_id)
    assert (row["status"], row["failure_code"]) == ("permanent-failure", "sms_hard_bounce")
    assert "rejet définitif" in row["failure_reason"] and "hard_bounce" in history[-1][1]
    failed = [e for e in published(notifier) if e["type"].endswith("notification.failed.v1")]
    assert [(e["data"]["status"], e["data"]["failure_code"]) for e in failed] == [
        ("permanent-failure", "sms_hard_bounce")]


def test_a_soft_bounce_while_sending_is_a_final_temporary_failure_that_a_late_delivery_still_fixes(notifier):
    notification_id = sms(notifier)
    notifier.sms_report("brevo", SECRET, report("soft_bounce"))
    row, _ = record(notifier, notification_id)
    assert (row["status"], row["failure_code"], row["next_attempt_at"]) == ("temporary-failure", "sms_soft_bounce",
                                                                           None)
    assert notifier.deliver_due() == 0  # not resent automatically
    notifier.sms_report("brevo", SECRET, {"msg_status": "delivered", "reference": "ab1cde2fgh3i4jklmno",
                                          "messageId": "1511882900176221"})
    assert record(notifier, notification_id)[0]["status"] == "delivered"


def test_reports_about_unknown_messages_or_another_provider_are_acknowledged_and_ignored(notifier):
    notification_id = sms(notifier)
    assert notifier.sms_report("brevo", SECRET, report("delivered", message_id=42)) == {"outcome": "ignored"}
    assert notifier.sms_report("brevo", SECRET, {"msg_status": "delivered"}) == {"outcome": "ignored"}
    notifier.sms_report_secrets["autre"] = (OLD,)
    assert notifier.sms_report("autre", OLD, report("delivered")) == {"outcome": "ignored"}
    assert record(notifier, notification_id)[0]["status"] == "sending"


def test_the_service_checks_the_secret_itself(notifier):
    notification_id = sms(notifier)
    with pytest.raises(SmsReportForbidden):
        notifier.sms_report("brevo", "x" * 40, report("delivered"))
    with pytest.raises(UnknownSmsProvider):
        notifier.sms_report("dev-file", SECRET, report("delivered"))
    assert record(notifier, notification_id)[0]["status"] == "sending"


def test_a_retry_scheduled_after_a_send_failure_is_not_changed_by_a_report(notifier):
    notifier.sms_client.failures.append(TemporaryFailure("provider_unavailable", "HTTP 503", provider="brevo"))
    notification_id = sms(notifier)
    row, _ = record(notifier, notification_id)
    assert row["status"] == "temporary-failure" and row["next_attempt_at"] is not None
    with notifier.db.engine.begin() as c:  # as if an earlier attempt had been accepted under this id
        c.execute(notifications.update().values(provider="brevo", provider_reference="1511882900176221"))
    assert notifier.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "unchanged"}


def test_an_sms_without_a_report_for_72_hours_becomes_a_temporary_failure_once(notifier):
    import datetime as dt

    silent, confirmed = sms(notifier), sms(notifier)
    notifier.sms_report("brevo", SECRET, report("delivered", message_id=record(notifier, confirmed)[0]
                                                ["provider_reference"]))
    assert notifier.expire_unconfirmed() == 0  # not yet 72 hours
    notifier.clock.now += dt.timedelta(hours=72, minutes=1)
    assert notifier.expire_unconfirmed() == 1
    assert notifier.expire_unconfirmed() == 0
    row, history = record(notifier, silent)
    assert (row["status"], row["failure_code"], row["next_attempt_at"]) == ("temporary-failure", "no_receipt", None)
    assert history[-1] == ("temporary-failure", "aucun compte rendu de remise du fournisseur en 72 heures")
    assert record(notifier, confirmed)[0]["status"] == "delivered"
    failed = [e["data"] for e in published(notifier) if e["type"].endswith("notification.failed.v1")]
    assert [(d["notification_id"], d["failure_code"]) for d in failed] == [(silent, "no_receipt")]
    assert notifier.deliver_due() == 0  # not sent again: the provider has the message
