"""The answers of the notifications service, as its RPCs return them and the gateway's routes answer them.

The service dumps each RPC answer through one of these schemas (so an answer
holds the listed fields only: a citizen never gets the agents' fields, nobody
gets a message's content or personalisation); the gateway declares the same
schema on its route, so the OpenAPI document describes what is really sent.
"""
from __future__ import annotations

from marshmallow import fields

from ..fields import FrenchSchema, Timestamp
from .common import page_of

# The delivery statuses, in the order a notification goes through them (GOV.UK Notify's names).
STATUSES = ("created", "sending", "delivered", "sent", "temporary-failure", "permanent-failure",
            "technical-failure")
CHANNELS = ("email", "sms")


def _status(**kwargs) -> fields.String:
    return fields.String(metadata={"enum": list(STATUSES), **kwargs.pop("metadata", {})}, **kwargs)


class CitizenNotification(FrenchSchema):
    """A notification as its recipient sees it (no address, no provider detail, never the content)."""

    id = fields.String(required=True)
    template = fields.String(required=True, metadata={"example": "account-activation"})
    channel = fields.String(required=True, allow_none=True, metadata={
        "enum": [*CHANNELS, None], "description": "null until the channel is chosen"})
    status = _status(required=True)
    reference = fields.String(required=True, allow_none=True, metadata={
        "description": "The reference of the matter (request, invoice...) the notification is about"})
    subject = fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    sent_at = Timestamp(required=True, allow_none=True)
    failure_reason = fields.String(required=True, allow_none=True, metadata={"description": "Why it failed, in French"})


class AgentNotification(CitizenNotification):
    """A notification as an agent sees it: the recipient, the attempts and the provider's verdict."""

    recipient_account_id = fields.String(required=True, allow_none=True)
    recipient_address = fields.String(required=True, allow_none=True, metadata={
        "description": "Email address or E.164 number the notification went to"})
    attempts = fields.Integer(required=True)
    provider = fields.String(required=True, allow_none=True)
    failure_code = fields.String(required=True, allow_none=True)
    next_attempt_at = Timestamp(required=True, allow_none=True, metadata={
        "description": "When the next attempt is due (null when none is planned)"})
    updated_at = Timestamp(required=True)


class NotificationHistoryLine(FrenchSchema):
    status = _status(required=True)
    detail = fields.String(required=True, allow_none=True)
    at = Timestamp(required=True)


class AgentNotificationDetail(AgentNotification):
    """One notification with its status history, oldest first."""

    history = fields.List(fields.Nested(NotificationHistoryLine), required=True)


CitizenNotificationPage = page_of(CitizenNotification, "CitizenNotificationPage")
AgentNotificationPage = page_of(AgentNotification, "AgentNotificationPage")


class NotificationPreferences(FrenchSchema):
    non_essential = fields.Boolean(required=True, metadata={
        "description": "Whether the citizen receives non-essential messages (essential ones are always sent)"})
    updated_at = Timestamp(required=True, allow_none=True, metadata={"description": "null: never changed"})
    non_essential_templates = fields.List(fields.String(), required=True, metadata={
        "description": "The templates this choice applies to"})


class Unsubscribed(FrenchSchema):
    unsubscribed = fields.Boolean(required=True, metadata={"example": True})
    scope = fields.String(required=True, metadata={"example": "non_essential"})


class SmsReportOutcome(FrenchSchema):
    outcome = fields.String(required=True, metadata={
        "enum": ["updated", "unchanged", "ignored"],
        "description": "updated: the SMS became delivered or failed; unchanged: a repeat or a status with no "
                       "effect; ignored: a message Guichet does not know"})


class ResentNotification(FrenchSchema):
    id = fields.String(required=True, metadata={"description": "The new notification"})
    resent_from = fields.String(required=True)
    status = _status(required=True)


class _TemplateDescription(FrenchSchema):
    version = fields.Integer(required=True)
    channels = fields.List(fields.String(metadata={"enum": list(CHANNELS)}), required=True)
    essential = fields.Boolean(required=True, metadata={"description": "Sent whatever the citizen's preferences"})
    security = fields.Boolean(required=True)
    required = fields.List(fields.String(), required=True, metadata={"description": "Personalisation it needs"})
    optional = fields.List(fields.String(), required=True)


class NotificationTemplate(_TemplateDescription):
    name = fields.String(required=True)
    description = fields.String(required=True)


class TemplatePreview(_TemplateDescription):
    """A template rendered with a personalisation: ``subject`` and ``html`` for an email; ``encoding``,
    ``segments`` and ``characters`` for an SMS."""

    template = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    text = fields.String(required=True)
    subject = fields.String()
    html = fields.String()
    encoding = fields.String(metadata={"example": "GSM-7"})
    segments = fields.Integer()
    characters = fields.Integer()
