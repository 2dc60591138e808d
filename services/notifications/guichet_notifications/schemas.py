"""marshmallow schemas of the notifications service: every RPC's arguments (loaded by ``service.py``, a
French 422 problem when they do not fit) and every RPC's answer (dumped, so an answer holds the listed fields
only: a citizen never gets the agents' fields)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from guichet_common.errors import InvalidInput
from guichet_common.pagination import DEFAULT_LIMIT, MAX_LIMIT
from guichet_contracts.fields import FrenchSchema, Timestamp

from .domain.delivery import NotificationStatus

STATUSES = tuple(status.value for status in NotificationStatus)
CHANNELS = ("email", "sms")


def load(schema: ma.Schema, arguments: dict) -> dict:
    """``arguments`` checked by ``schema``, or :class:`InvalidInput` with the French message of each field."""
    try:
        return schema.load({key: value for key, value in arguments.items() if value is not None})
    except ma.ValidationError as error:
        raise InvalidInput(errors=error.messages if isinstance(error.messages, dict) else None) from None


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only (no « oui », no 1)."""

    default_error_messages = {"invalid": "Valeur booléenne attendue (true ou false)."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# --- arguments ----------------------------------------------------------------------------------

class PageArgs(FrenchSchema):
    cursor = fields.String(load_default=None)
    limit = fields.Integer(strict=True, load_default=DEFAULT_LIMIT, validate=validate.Range(
        min=1, max=MAX_LIMIT, error=f"Entre 1 et {MAX_LIMIT} éléments par page."),
        error_messages={"invalid": "Nombre entier attendu."})


class SearchArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(
        STATUSES, error="Statut inconnu : " + ", ".join(STATUSES) + "."))
    recipient = fields.String(load_default=None)
    template = fields.String(load_default=None)
    failed = fields.Boolean(load_default=False)


class PreferencesArgs(FrenchSchema):
    non_essential = StrictBoolean(required=True)


class UnsubscribeArgs(FrenchSchema):
    token = fields.Raw(load_default=None)
    """Checked by the use case: a malformed token is an invalid unsubscribe link (400), like a forged one."""


class SmsReportArgs(FrenchSchema):
    provider = fields.String(required=True)
    token = fields.Raw(load_default=None)
    """Checked by the use case against the provider's report secrets (403)."""
    report = fields.Dict(required=True, error_messages={"invalid": "Objet JSON attendu."})


class NotificationArgs(FrenchSchema):
    notification_id = fields.String(required=True, validate=validate.Length(max=36))


class PreviewArgs(FrenchSchema):
    name = fields.String(required=True)
    personalisation = fields.Dict(load_default=None, error_messages={"invalid": "Objet attendu."})
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS,
                                                                       error="Canal attendu : email ou sms."))


# --- answers --------------------------------------------------------------------------------------

class CitizenNotification(FrenchSchema):
    id = fields.String()
    template = fields.String()
    channel = fields.String(allow_none=True)
    status = fields.String()
    reference = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    created_at = Timestamp()
    sent_at = Timestamp(allow_none=True)
    failure_reason = fields.String(allow_none=True)


class AgentNotification(CitizenNotification):
    recipient_account_id = fields.String(allow_none=True)
    recipient_address = fields.String(allow_none=True)
    attempts = fields.Integer()
    provider = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)
    next_attempt_at = Timestamp(allow_none=True)
    updated_at = Timestamp()


class HistoryLine(FrenchSchema):
    status = fields.String()
    detail = fields.String(allow_none=True)
    at = Timestamp()


class AgentNotificationDetail(AgentNotification):
    history = fields.List(fields.Nested(HistoryLine))


class CitizenPage(FrenchSchema):
    items = fields.List(fields.Nested(CitizenNotification))
    next_cursor = fields.String(allow_none=True)


class AgentPage(FrenchSchema):
    items = fields.List(fields.Nested(AgentNotification))
    next_cursor = fields.String(allow_none=True)


class Preferences(FrenchSchema):
    non_essential = fields.Boolean()
    updated_at = Timestamp(allow_none=True)
    non_essential_templates = fields.List(fields.String())


class Unsubscribed(FrenchSchema):
    unsubscribed = fields.Boolean()
    scope = fields.String()


class ReportOutcome(FrenchSchema):
    outcome = fields.String()


class Resent(FrenchSchema):
    id = fields.String()
    resent_from = fields.String()
    status = fields.String()


class TemplateDescription(FrenchSchema):
    version = fields.Integer()
    channels = fields.List(fields.String())
    essential = fields.Boolean()
    security = fields.Boolean()
    required = fields.List(fields.String())
    optional = fields.List(fields.String())


class TemplateSummary(TemplateDescription):
    name = fields.String()
    description = fields.String()


class Preview(TemplateDescription):
    template = fields.String()
    channel = fields.String()
    subject = fields.String()
    text = fields.String()
    html = fields.String()
    encoding = fields.String()
    segments = fields.Integer()
    characters = fields.Integer()
