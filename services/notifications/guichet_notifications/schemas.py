"""marshmallow schemas of the notifications service: every RPC's arguments (loaded by ``service.py``, a
French 422 problem when they do not fit) and every RPC's answer (dumped, so an answer holds the listed fields
only: a citizen never gets the agents' fields)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from guichet_common.errors import InvalidInput
from guichet_common.pagination import DEFAULT_LIMIT, MAX_LIMIT
from guichet_contracts.api.notifications import (
    CHANNELS,
    AgentNotificationDetail,
    AgentNotificationPage,
    CitizenNotificationPage,
    NotificationPreferences,
    NotificationTemplate,
    ResentNotification,
    SmsReportOutcome,
    TemplatePreview,
    Unsubscribed,
)
from guichet_contracts.fields import FrenchSchema

from .domain.delivery import NotificationStatus

STATUSES = tuple(status.value for status in NotificationStatus)


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


# --- answers ------------------------------------------------------------------------------------
# The API's schemas (guichet_contracts.api.notifications), declared by the gateway's routes as well: what the
# service dumps is what the OpenAPI document describes.
__all__ = [
    "load", "StrictBoolean", "PageArgs", "SearchArgs", "PreferencesArgs", "UnsubscribeArgs", "SmsReportArgs",
    "NotificationArgs", "PreviewArgs",
    "CitizenNotificationPage", "AgentNotificationPage", "AgentNotificationDetail", "NotificationPreferences",
    "Unsubscribed", "SmsReportOutcome", "ResentNotification", "NotificationTemplate", "TemplatePreview",
]
