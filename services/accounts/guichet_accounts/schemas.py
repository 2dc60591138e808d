"""The marshmallow schemas of the accounts service's RPC arguments and answers.

Every RPC validates its arguments through one of these (``load`` raises the
service's 422 problem with French per-field messages) and dumps its answer
through one. The registration, activation and password forms carry domain
rules and live in ``domain.registration``.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from guichet_common.errors import InvalidInput
from guichet_contracts import french_messages
from guichet_contracts.fields import (
    Choice,
    Day,
    Email,
    FrenchSchema,
    Group,
    Integer,
    Name,
    Phone,
    Secret,
    Text,
    Url,
)

from .domain import messages as msg
from .domain.password_forms import LoginSchema
from .domain.registration import CIVILITIES, COMMUNICATION_MODES, PhonesSchema

MEMBER_ROLES = ("titulaire", "conjoint", "enfant", "autre")
ADDABLE_ROLES = ("conjoint", "enfant", "autre")
GUARDIAN_RELATIONS = ("pere", "mere", "tuteur")

ROLE_INVALID = "Choisissez un rôle : conjoint, enfant ou autre."  # composed
GUARDIAN_RELATION_INVALID = "Choisissez un lien : père, mère ou tuteur."  # composed
GUARDIANS_ONLY_CHILDREN = "Seuls les enfants ont des responsables légaux."  # composed
GUARDIAN_WHO = "Indiquez le membre du foyer ou le nom du responsable légal."  # composed
GUARDIAN_UNKNOWN_MEMBER = "Ce responsable légal n'est pas un membre de votre foyer."  # composed
SEX_INVALID = "Choisissez un sexe : F ou M."  # composed
CAF_INVALID = "Le numéro d'allocataire CAF ne contient que des chiffres (7 au maximum)."  # composed
TITULAIRE_FIXED = "Le titulaire du compte ne peut pas être retiré du foyer."  # composed
TITULAIRE_FROM_PROFILE = "Les informations du titulaire se modifient dans « Mon compte »."  # composed


class GuardianSchema(FrenchSchema):
    relation = Choice(GUARDIAN_RELATIONS, error=GUARDIAN_RELATION_INVALID, required=True)
    member_id = Text(max_length=36)
    name = Text(max_length=200)

    @validates_schema(skip_on_field_errors=False)
    def _who(self, data, **kwargs):
        if not data.get("member_id") and not data.get("name"):
            raise ValidationError({"name": [GUARDIAN_WHO]})


class SchoolSchema(FrenchSchema):
    """Schooled children (issue 4): school year, school, level, class, certificate link."""

    school_year = Text(max_length=9)  # « 2026-2027 »
    school = Text(max_length=200)
    level = Text(max_length=50)
    class_name = Text(max_length=50)
    certificate_url = Url(max_length=500)


class MemberSchema(FrenchSchema):
    """« Mon foyer »: a member the citizen adds (the titulaire is the account itself)."""

    role = Choice(ADDABLE_ROLES, error=ROLE_INVALID, required=True)
    relation = Text(max_length=50)
    civility = Choice(tuple(CIVILITIES), error=msg.CIVILITY_INVALID)
    birth_name = Name()
    usage_name = Name()
    first_name = Name(required=True)
    birth_date = Day(allow_none=True, load_default=None)
    sex = Choice(("F", "M"), error=SEX_INVALID)
    guardians = fields.List(fields.Nested(GuardianSchema), load_default=None, allow_none=True,
                            error_messages={"invalid": msg.FIELD_INVALID})
    school = Group(SchoolSchema, allow_none=True, load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _children_only(self, data, **kwargs):
        if data.get("guardians") and data.get("role") not in (None, "enfant"):
            raise ValidationError({"guardians": [GUARDIANS_ONLY_CHILDREN]})


class SocialDataSchema(FrenchSchema):
    """Social data (issue 4): regime, RFR, allocataire and CAF number, QF, dependent children, resources."""

    regime = Text(max_length=50)
    reference_tax_income = Integer()  # euros
    allocataire_name = Text(max_length=200)
    caf_number = Text(max_length=20)
    quotient_familial = Integer()
    dependent_children = Integer(validate=validate.Range(min=0, max=30, error=french_messages.NOT_NEGATIVE))
    monthly_resources_cents = Integer()
    family_composition = Text(max_length=100)

    @validates_schema(skip_on_field_errors=True)
    def _caf(self, data, **kwargs):
        caf = data.get("caf_number")
        if caf and not (caf.isdigit() and len(caf) <= 7):
            raise ValidationError({"caf_number": [CAF_INVALID]})


class LoginIn(LoginSchema):
    pass


class EmailIn(FrenchSchema):
    email = Email(required=True)


class ContactIn(FrenchSchema):
    email = Email(required=True, error_messages={"required": msg.EMAIL_NEEDED_NOTICE})
    phones = Group(PhonesSchema, load_default=dict)
    communication_preference = Choice(COMMUNICATION_MODES, error=msg.COMMUNICATION_INVALID, load_default="email")


class IdentifierIn(FrenchSchema):
    identifier = Text(required=True, max_length=254)


class ProvisionIn(FrenchSchema):
    """One family of a provisioned-accounts import (Saint-Joseph): no email required."""

    civility = Choice(tuple(CIVILITIES), error=msg.CIVILITY_INVALID)
    birth_name = Name(required=True)
    usage_name = Name()
    first_name = Name(required=True)
    birth_date = Day(allow_none=True, load_default=None)
    family_file_ref = Text(max_length=64)
    login = Text(max_length=64)
    password = Secret()
    email = Email(allow_none=True, load_default=None)
    phone_mobile = Phone(mobile=True)


def load(schema, data, *, partial=False):
    """``schema.load`` raising the service's 422 problem with the French per-field messages."""
    try:
        return schema.load(data if data is not None else {}, partial=partial)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidInput(errors=messages) from None
