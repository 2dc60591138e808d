"""The RPC schemas: arguments refused with French messages, answers holding their listed fields only."""
import datetime as dt

import pytest

from guichet_common.errors import InvalidInput
from guichet_notifications import schemas as s

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
ROW = {"id": "n-1", "template": "reminder", "channel": "email", "status": "sent", "reference": "R-1",
       "subject": "Rappel", "created_at": AT, "sent_at": AT, "failure_reason": None,
       "recipient_account_id": "a-1", "recipient_address": "jeanne@example.org", "attempts": 1,
       "provider": "smtp", "failure_code": None, "next_attempt_at": None, "updated_at": AT,
       "personalisation": '{"secret": 1}', "body": "texte", "message_id": "m-1"}


@pytest.mark.parametrize("schema, arguments, field, message", [
    (s.PageArgs(), {"limit": 0}, "limit", "Entre 1 et 100 éléments par page."),
    (s.PageArgs(), {"limit": "dix"}, "limit", "Nombre entier attendu."),
    (s.SearchArgs(), {"status": "perdu"}, "status", "Statut inconnu : created, sending, delivered, sent, "
                                                    "temporary-failure, permanent-failure, technical-failure."),
    (s.PreferencesArgs(), {"non_essential": "oui"}, "non_essential", "Valeur booléenne attendue (true ou false)."),
    (s.PreferencesArgs(), {"non_essential": 1}, "non_essential", "Valeur booléenne attendue (true ou false)."),
    (s.PreviewArgs(), {"name": "reminder", "channel": "fax"}, "channel", "Canal attendu : email ou sms."),
    (s.PreviewArgs(), {"name": "reminder", "personalisation": []}, "personalisation", "Objet attendu."),
    (s.SmsReportArgs(), {"provider": "brevo", "report": "delivered"}, "report", "Objet JSON attendu."),
])
def test_arguments_are_refused_in_french(schema, arguments, field, message):
    with pytest.raises(InvalidInput) as refused:
        s.load(schema, arguments)
    assert refused.value.problem()["errors"] == {field: [message]}


def test_missing_arguments_take_their_defaults():
    assert s.load(s.SearchArgs(), {"status": None, "cursor": None, "limit": None}) == {
        "status": None, "recipient": None, "template": None, "failed": False, "cursor": None, "limit": 20}


def test_a_citizen_gets_no_agent_field_and_nobody_the_content():
    citizen = s.CitizenNotificationPage().dump({"items": [ROW], "next_cursor": None})
    assert citizen == {"items": [{"id": "n-1", "template": "reminder", "channel": "email", "status": "sent",
                                  "reference": "R-1", "subject": "Rappel", "created_at": AT.isoformat(),
                                  "sent_at": AT.isoformat(), "failure_reason": None}], "next_cursor": None}
    agent = s.AgentNotificationDetail().dump({**ROW, "history": [{"status": "sent", "detail": "250", "at": AT,
                                                                  "id": 7, "notification_id": "n-1"}]})
    assert agent["recipient_address"] == "jeanne@example.org" and agent["next_attempt_at"] is None
    assert agent["history"] == [{"status": "sent", "detail": "250", "at": AT.isoformat()}]
    assert not {"personalisation", "body", "message_id"} & set(agent)


def test_the_api_lists_the_statuses_the_service_knows():
    from guichet_contracts.api.notifications import STATUSES
    from guichet_notifications.domain.delivery import NotificationStatus

    assert STATUSES == tuple(status.value for status in NotificationStatus)
