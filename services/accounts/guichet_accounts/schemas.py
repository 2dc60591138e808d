"""The marshmallow schemas of the accounts service's RPC arguments and answers.

The shapes the gateway documents are the accounts API contract's
(``guichet_contracts.api.accounts``), defined once: the use cases load their
arguments through them (``load`` raises the service's 422 problem with French
per-field messages) and ``service.py`` dumps every answer through one, so an
answer holds the listed fields only. The registration, activation and password
forms carry the town's rules and live in ``domain.registration`` and
``domain.password_forms``, over the contract's fields.
"""
from __future__ import annotations

import functools
from typing import Any

from marshmallow import ValidationError

from guichet_common.errors import InvalidInput
from guichet_contracts.api import accounts as api
from guichet_contracts.api.accounts import (
    GUARDIANS_ONLY_CHILDREN as GUARDIANS_ONLY_CHILDREN,
)
from guichet_contracts.api.accounts import (
    MEMBER_ROLES as MEMBER_ROLES,
)
from guichet_contracts.api.common import AuditPageQuery

GUARDIAN_UNKNOWN_MEMBER = "Ce responsable légal n'est pas un membre de votre foyer."  # composed
TITULAIRE_FIXED = "Le titulaire du compte ne peut pas être retiré du foyer."  # composed
TITULAIRE_FROM_PROFILE = "Les informations du titulaire se modifient dans « Mon compte »."  # composed

# --- arguments ---------------------------------------------------------------------------------

GuardianSchema = api.Guardian
SchoolSchema = api.School
MemberSchema = api.Member
SocialDataSchema = api.SocialData
LoginIn = api.Login
EmailIn = api.EmailAddress
IdentifierIn = api.Identifier
ProvisionIn = api.Provision
AccountSearchArgs = api.AccountSearchQuery
AuditArgs = AuditPageQuery


# What a town-created account gives first (seed 002): its email, its phones, how to reach it.
ContactIn = functools.partial(api.ProfileFields, only=("email", "phones", "communication_preference"))


def load(schema, data, *, partial=False):
    """``schema.load`` raising the service's 422 problem with the French per-field messages."""
    try:
        return schema.load(data if data is not None else {}, partial=partial)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidInput(errors=messages) from None


def load_given(schema, **arguments: Any) -> dict:
    """``load`` of the RPC's keyword arguments that were given (None: left to the schema's default)."""
    return load(schema, {name: value for name, value in arguments.items() if value is not None})

