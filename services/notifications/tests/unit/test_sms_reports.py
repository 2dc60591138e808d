"""SMS delivery reports: the provider status mapping, the allowed transitions, the secret check, the settings
that give each SMS its callback URL, and the application layer on SQLite."""
import json

import pytest

from guichet_notifications import bootstrap
from guichet_notifications.adapters.sms import SmsClient
from guichet_notifications.domain import reports
from guichet_notifications.domain.delivery import NotificationStatus as S
from guichet_notifications.domain.delivery import SendReceipt, TemporaryFailure
from guichet_notifications.exceptions import SmsReportForbidden, UnknownSmsProvider
from guichet_notifications.models import notifications
from guichet_notifications.settings import SettingsError, load_settings, report_secrets

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

def test_the_secret_check_is_per_provider_and_accepts_every_secret_of_a_rotation(notifier):
    notifier.ctx.sms_report_secrets["brevo"] = (SECRET, OLD)
    notifier.reports.authenticate("brevo", SECRET)
    notifier.reports.authenticate("brevo", OLD)
    for token in (None, "", SECRET[:-1], SECRET + "x", "é" * 40, 12):
        with pytest.raises(SmsReportForbidden) as refused:
            notifier.reports.authenticate("brevo", token)
        assert refused.value.problem()["status"] == 403
    with pytest.raises(UnknownSmsProvider) as unknown:
        notifier.reports.authenticate("autre", SECRET)
    assert unknown.value.problem()["type"] == "urn:guichet:problem:sms-provider-unknown"


def test_report_secrets_come_from_the_provider_entry_or_the_variable_it_names():
    town = {"notifications": {"sms_providers": [
        {"type": "brevo", "name": "brevo", "report_secret_env": "BREVO_REPORTS"},
        {"type": "brevo", "report_secret": SECRET},
        {"type": "brevo", "name": "muet"},
        {"type": "file", "name": "dev-file", "report_secret": SECRET}]}}
    section = town["notifications"]
    assert report_secrets(section, {"BREVO_REPORTS": f"{SECRET}, {OLD}"}) == {
        "brevo": (SECRET, OLD), "brevo-2": (SECRET,)}
    with pytest.raises(SettingsError, match="BREVO_REPORTS"):
        report_secrets(section, {})
    with pytest.raises(SettingsError, match="32 characters"):
        report_secrets(section, {"BREVO_REPORTS": "trop-court"})


# --- settings ---------------------------------------------------------------------------------

def _brevo(**extra):
    return {**TOWN, "notifications": {"sms_providers": [
        {"type": "brevo", "name": "brevo", "api_key": "k", "sender": "VILLE", **extra}]}}


def test_a_provider_with_a_report_secret_is_given_the_callback_url_with_its_token(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path), "BREVO_REPORTS": f"{SECRET},{OLD}"}
    settings = load_settings(_brevo(report_secret_env="BREVO_REPORTS"), env)
    [(client, _)] = bootstrap.sms_routes(settings)
    assert client.config.status_callback_url == \
        f"https://ville.example/api/v1/notifications/sms-reports/brevo?token={SECRET}"
    assert settings.sms_report_secrets() == {"brevo": (SECRET, OLD)}
    moved = load_settings(_brevo(report_secret_env="BREVO_REPORTS",
                                 report_url="https://api.ville.example/api/v1/notifications/sms-reports/brevo"), env)
    [(client, _)] = bootstrap.sms_routes(moved)
    assert client.config.status_callback_url.startswith("https://api.ville.example/api/v1/notifications/")
    [(plain, _)] = bootstrap.sms_routes(load_settings(_brevo(), env))
    assert plain.config.status_callback_url is None  # no secret, no reports: an accepted SMS ends as sent


def test_unusable_report_settings_stop_the_start(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="REPORTS_UNSET"):
        bootstrap.sms_routes(load_settings(_brevo(report_secret_env="REPORTS_UNSET"), env))
    with pytest.raises(SettingsError, match="https"):
        bootstrap.sms_routes(load_settings({**_brevo(report_secret=SECRET), "public_url": "http://127.0.0.1:8000"},
                                           env))
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


@pytest.fixture
def notifier(tmp_path):
    with factories.application(tmp_path, sms_client=AcceptingProvider(),
                               sms_report_secrets={"brevo": (SECRET,)}) as app:
        yield app


def sms(n):
    notification_id = factories.request(n, "reminder", {"phone": "06 12 34 56 78"}, reference="R-1")
    n.delivery.deliver_due()
    return notification_id


def record(n, notification_id):
    return factories.notification(n, notification_id), factories.history(n, notification_id)


published = factories.published


def report(status, message_id=1511882900176221, **extra):
    return {"msg_status": status, "messageId": message_id, "reference": "ab1cde2fgh3i4jklmno", **extra}


def test_the_provider_message_id_is_kept_and_a_delivered_report_is_applied_once(notifier):
    notification_id = sms(notifier)
    row, _ = record(notifier, notification_id)
    assert (row["status"], row["provider"], row["provider_reference"]) == ("sending", "brevo", "1511882900176221")
    assert [e["data"]["status"] for e in published(notifier)] == ["sent"]  # accepted: as before
    assert notifier.reports.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "updated"}
    assert notifier.reports.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "unchanged"}
    assert notifier.reports.sms_report("brevo", SECRET, report("sent")) == {"outcome": "unchanged"}
    row, history = record(notifier, notification_id)
    assert row["status"] == "delivered" and row["failure_code"] is None
    assert [status for status, _ in history] == ["created", "sending", "delivered"]
    events = published(notifier)
    assert [(e["type"].split(".")[-2], e["data"]["status"]) for e in events] == [("delivered", "sent"),
                                                                                 ("delivered", "delivered")]
    assert "+336" not in json.dumps(events) and "0612" not in json.dumps([list(h) for h in history])


def test_a_hard_bounce_is_a_permanent_failure_with_a_french_reason_and_one_failed_event(notifier):
    notification_id = sms(notifier)
    notifier.reports.sms_report("brevo", SECRET, report("hard_bounce", to="33612345678"))
    notifier.reports.sms_report("brevo", SECRET, report("hard_bounce"))
    notifier.reports.sms_report("brevo", SECRET, report("delivered"))  # after a final failure: changes nothing
    row, history = record(notifier, notification_id)
    assert (row["status"], row["failure_code"]) == ("permanent-failure", "sms_hard_bounce")
    assert "rejet définitif" in row["failure_reason"] and "hard_bounce" in history[-1][1]
    failed = [e for e in published(notifier) if e["type"].endswith("notification.failed.v1")]
    assert [(e["data"]["status"], e["data"]["failure_code"]) for e in failed] == [
        ("permanent-failure", "sms_hard_bounce")]


def test_a_soft_bounce_while_sending_is_a_final_temporary_failure_that_a_late_delivery_still_fixes(notifier):
    notification_id = sms(notifier)
    notifier.reports.sms_report("brevo", SECRET, report("soft_bounce"))
    row, _ = record(notifier, notification_id)
    assert (row["status"], row["failure_code"], row["next_attempt_at"]) == ("temporary-failure", "sms_soft_bounce",
                                                                           None)
    assert notifier.delivery.deliver_due() == 0  # not resent automatically
    notifier.reports.sms_report("brevo", SECRET, {"msg_status": "delivered", "reference": "ab1cde2fgh3i4jklmno",
                                          "messageId": "1511882900176221"})
    assert record(notifier, notification_id)[0]["status"] == "delivered"


def test_reports_about_unknown_messages_or_another_provider_are_acknowledged_and_ignored(notifier):
    notification_id = sms(notifier)
    assert notifier.reports.sms_report("brevo", SECRET, report("delivered", message_id=42)) == {"outcome": "ignored"}
    assert notifier.reports.sms_report("brevo", SECRET, {"msg_status": "delivered"}) == {"outcome": "ignored"}
    notifier.ctx.sms_report_secrets["autre"] = (OLD,)
    assert notifier.reports.sms_report("autre", OLD, report("delivered")) == {"outcome": "ignored"}
    assert record(notifier, notification_id)[0]["status"] == "sending"


def test_the_service_checks_the_secret_itself(notifier):
    notification_id = sms(notifier)
    with pytest.raises(SmsReportForbidden):
        notifier.reports.sms_report("brevo", "x" * 40, report("delivered"))
    with pytest.raises(UnknownSmsProvider):
        notifier.reports.sms_report("dev-file", SECRET, report("delivered"))
    assert record(notifier, notification_id)[0]["status"] == "sending"


def test_a_retry_scheduled_after_a_send_failure_is_not_changed_by_a_report(notifier):
    notifier.ctx.sms_client.failures.append(TemporaryFailure("provider_unavailable", "HTTP 503", provider="brevo"))
    notification_id = sms(notifier)
    row, _ = record(notifier, notification_id)
    assert row["status"] == "temporary-failure" and row["next_attempt_at"] is not None
    with notifier.ctx.database.engine.begin() as c:  # as if an earlier attempt had been accepted under this id
        c.execute(notifications.update().values(provider="brevo", provider_reference="1511882900176221"))
    assert notifier.reports.sms_report("brevo", SECRET, report("delivered")) == {"outcome": "unchanged"}


def test_an_sms_without_a_report_for_72_hours_becomes_a_temporary_failure_once(notifier):

    silent, confirmed = sms(notifier), sms(notifier)
    notifier.reports.sms_report("brevo", SECRET, report("delivered", message_id=record(notifier, confirmed)[0]
                                                ["provider_reference"]))
    assert notifier.delivery.expire_unconfirmed() == 0  # not yet 72 hours
    notifier.ctx.clock.advance(72 * 3600 + 60)
    assert notifier.delivery.expire_unconfirmed() == 1
    assert notifier.delivery.expire_unconfirmed() == 0
    row, history = record(notifier, silent)
    assert (row["status"], row["failure_code"], row["next_attempt_at"]) == ("temporary-failure", "no_receipt", None)
    assert history[-1] == ("temporary-failure", "aucun compte rendu de remise du fournisseur en 72 heures")
    assert record(notifier, confirmed)[0]["status"] == "delivered"
    failed = [e["data"] for e in published(notifier) if e["type"].endswith("notification.failed.v1")]
    assert [(d["notification_id"], d["failure_code"]) for d in failed] == [(silent, "no_receipt")]
    assert notifier.delivery.deliver_due() == 0  # not sent again: the provider has the message
