"""Every event and command Guichet services exchange.

Events are facts other parties may react to and carry no personal contact
data, no secret and no token. Commands are point to point and may carry what
only their receiver may see (an activation link, a contact address).
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from . import types
from .registry import Contract, register


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class AccountRef(_Strict):
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               metadata={"description": "Opaque id of the citizen account."})


# --- accounts ---------------------------------------------------------------

class AccountRegistered(AccountRef):
    account_type = fields.String(required=True, validate=validate.OneOf(["particulier", "professionnel", "association"]))
    status = fields.String(required=True, validate=validate.OneOf(["pending_activation", "awaiting_validation", "active"]),
                           metadata={"description": "Status of the account once created."})
    provisioned = fields.Boolean(load_default=False,
                                 metadata={"description": "Created by the town (the citizen completes it at first login)."})


class AccountActivated(AccountRef):
    status = fields.String(required=True, validate=validate.OneOf(["awaiting_validation", "active"]),
                           metadata={"description": "awaiting_validation when the town validates accounts."})


class AccountValidated(AccountRef):
    validated_by = fields.String(required=True, metadata={"description": "Agent id (not a name)."})


class AccountUpdated(AccountRef):
    changed = fields.List(fields.String(), required=True,
                          metadata={"description": "Names of the changed field groups, never their values."})


class HouseholdMember(AccountRef):
    member_id = fields.String(required=True, metadata={"description": "Opaque id of the household member."})
    role = fields.String(required=True, validate=validate.OneOf(["titulaire", "conjoint", "enfant", "autre"]),
                         metadata={"description": "Role of the member in the household."})


_ACCOUNT = "3f6b1c2e-8d4a-4b7e-9c15-2a7d0e9f4b61"
_MEMBER = "b2e4d6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b"

_ACCOUNT_EVENTS: list[tuple[str, type[ma.Schema], str, dict]] = [
    (types.ACCOUNT_REGISTERED, AccountRegistered, "A citizen account was created (activation pending).",
     {"account_id": _ACCOUNT, "account_type": "particulier", "status": "pending_activation", "provisioned": False}),
    (types.ACCOUNT_ACTIVATED, AccountActivated, "A citizen activated an account and chose a login.",
     {"account_id": _ACCOUNT, "status": "active"}),
    (types.ACCOUNT_VALIDATED, AccountValidated, "A town agent validated an account.",
     {"account_id": _ACCOUNT, "validated_by": "agent-7c1e"}),
    (types.ACCOUNT_UPDATED, AccountUpdated, "Civil, contact or social data of an account changed.",
     {"account_id": _ACCOUNT, "changed": ["contact", "social"]}),
    (types.HOUSEHOLD_MEMBER_ADDED, HouseholdMember, "A member was added to a household.",
     {"account_id": _ACCOUNT, "member_id": _MEMBER, "role": "enfant"}),
    (types.HOUSEHOLD_MEMBER_CHANGED, HouseholdMember, "A household member was edited.",
     {"account_id": _ACCOUNT, "member_id": _MEMBER, "role": "enfant"}),
    (types.HOUSEHOLD_MEMBER_REMOVED, HouseholdMember, "A member was removed from a household.",
     {"account_id": _ACCOUNT, "member_id": _MEMBER, "role": "conjoint"}),
]
for message_type, schema, summary, example in _ACCOUNT_EVENTS:
    register(Contract(type=message_type, kind="event", producer="accounts",
                      schema=schema, summary=summary, example=example))


# --- activities (events accounts consumes; the activities service publishes them) -----
# Defined here by their first consumer (accounts shows the household's schooled children, seed 004
# « Enfants scolarisés du foyer »); the activities issue publishes them unchanged.

class SchoolingUpdated(AccountRef):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                              metadata={"description": "The child, as a household member id of accounts."})
    school_year = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{4}$"),
                                metadata={"description": "School year, e.g. 2026-2027."})
    school = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           metadata={"description": "Name of the school (établissement)."})
    level = fields.String(required=True, validate=validate.Length(min=1, max=40),
                          metadata={"description": "Level (niveau), e.g. CP, CE1, moyenne section."})
    class_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                               metadata={"description": "Class (classe) as the school names it."})
    certificate_url = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Regexp(r"^/api/v1/[A-Za-z0-9/_.-]{1,300}$"),
                                    metadata={"description": "Gateway path of the school registration "
                                                             "certificate, when one exists."})


class SchoolingEnded(AccountRef):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                              metadata={"description": "The child, as a household member id of accounts."})


register(Contract(type=types.SCHOOLING_UPDATED, kind="event", producer="activities",
                  schema=SchoolingUpdated, summary="A child's schooling (year, school, level, class) was recorded "
                                                   "or changed.",
                  example={"account_id": _ACCOUNT, "member_id": _MEMBER, "school_year": "2026-2027",
                           "school": "École élémentaire Jean-Marie Brison", "level": "CP",
                           "class_name": "CP A", "certificate_url": f"/api/v1/me/schooling/{_MEMBER}/certificate"}))
register(Contract(type=types.SCHOOLING_ENDED, kind="event", producer="activities",
                  schema=SchoolingEnded, summary="A child is no longer schooled in the town (left, or the "
                                                 "registration was cancelled).",
                  example={"account_id": _ACCOUNT, "member_id": _MEMBER}))


# --- notifications (commands it receives) -----------------------------------

class Recipient(_Strict):
    # The @validates_schema rule below, for the JSON Schema (see guichet_contracts.generate).
    json_schema_extra = {"anyOf": [
        {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
        for name in ("account_id", "email", "phone")
    ]}

    account_id = fields.String(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))

    @ma.validates_schema
    def _one_address(self, data, **_kwargs):
        if not any(data.get(k) for k in ("account_id", "email", "phone")):
            raise ma.ValidationError("account_id, email or phone is required", "_schema")


class NotificationAttachment(_Strict):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=100))
    content_type = fields.String(required=True, validate=validate.OneOf(["application/pdf"]))
    content_base64 = fields.String(required=True, validate=validate.Length(min=1, max=2_800_000),
                                   metadata={"description": "The file, base64 (2 MB at most)."})


class NotificationRequested(_Strict):
    template = fields.String(required=True, validate=validate.Length(min=1, max=100))
    recipient = fields.Nested(Recipient, required=True)
    personalisation = fields.Dict(keys=fields.String(), load_default=dict)
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["email", "sms"]),
                            metadata={"description": "Force a channel; default: the recipient's preference."})
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                              metadata={"description": "Sender's reference (request number, invoice id)."})
    security = fields.Boolean(load_default=False,
                              metadata={"description": "Security mail (activation, reset): always by email."})
    attachments = fields.List(fields.Nested(NotificationAttachment), validate=validate.Length(max=3),
                              metadata={"description": "Files attached to the email (the PDF receipt)."})


class ContactUpdated(AccountRef):
    email = fields.Email(load_default=None, allow_none=True)
    phone_mobile = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    phone_personal = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    preference = fields.String(required=True, validate=validate.OneOf(["email", "phone", "sms"]))
    display_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


register(Contract(type=types.NOTIFICATION_REQUESTED, kind="command",
                  producer="notifications", schema=NotificationRequested,
                  summary="Send a notification built from a template to a recipient.",
                  senders=("accounts", "demarches", "billing", "activities", "notifications"),
                  example={"template": "account_activation",
                           "recipient": {"account_id": _ACCOUNT, "email": "jeanne.martin@example.org"},
                           "personalisation": {"first_name": "Jeanne",
                                               "activation_url": "https://guichet.example.org/activation/EXAMPLE"},
                           "security": True}))
register(Contract(type=types.CONTACT_UPDATED, kind="command",
                  producer="notifications", schema=ContactUpdated,
                  summary="Contact details and communication preference of an account (kept locally).",
                  senders=("accounts",),
                  example={"account_id": _ACCOUNT, "email": "jeanne.martin@example.org",
                           "phone_mobile": "0612345678", "preference": "email", "display_name": "Jeanne Martin"}))


# --- notifications (events it publishes) -------------------------------------

class NotificationOutcome(_Strict):
    notification_id = fields.String(required=True, validate=validate.Length(min=1, max=36),
                                    metadata={"description": "Id of the notification (no address, no content)."})
    template = fields.String(required=True, validate=validate.Length(min=1, max=100))
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["email", "sms"]))
    status = fields.String(required=True, validate=validate.OneOf(
        ["sent", "delivered", "temporary-failure", "permanent-failure", "technical-failure"]))
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                              metadata={"description": "The sender's reference given in the command."})
    failure_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50),
                                 metadata={"description": "Stable reason of a failure (e.g. smtp_rejected)."})


_NOTIFICATION = "6a0c9d3e-2f41-4b8a-9e57-0c1d2e3f4a5b"
register(Contract(type=types.NOTIFICATION_DELIVERED, kind="event",
                  producer="notifications", schema=NotificationOutcome,
                  summary="A notification was accepted by the mail server or SMS provider (sent) or delivered.",
                  example={"notification_id": _NOTIFICATION, "template": "demande_acknowledgement",
                           "channel": "email", "status": "sent", "reference": "DEM-2026-000123",
                           "failure_code": None}))
register(Contract(type=types.NOTIFICATION_FAILED, kind="event",
                  producer="notifications", schema=NotificationOutcome,
                  summary="A notification could not be delivered and will not be retried automatically.",
                  example={"notification_id": _NOTIFICATION, "template": "demande_decision",
                           "channel": "sms", "status": "permanent-failure", "reference": "DEM-2026-000123",
                           "failure_code": "invalid_phone_number"}))
