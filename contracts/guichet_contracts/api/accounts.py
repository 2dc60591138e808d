"""The accounts API's shapes, defined once: the gateway documents (and checks) its routes with them and the
accounts service loads its RPC arguments and dumps its RPC answers through the same classes.

Request bodies carry the field rules every town shares (types, lengths, choices, names, dates); the town's
own rules (which fields are required, the cross-field rules) are the accounts service's (its domain
extends ``Registration``). Answers list exactly the fields the service sends: dumping drops anything else.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from .. import french_messages
from ..fields import (
    Choice,
    Commune,
    Day,
    Email,
    Flag,
    FrenchSchema,
    Group,
    Integer,
    Name,
    Phone,
    Rna,
    Secret,
    Siret,
    Text,
    Timestamp,
    Url,
)
from .common import PageQuery, page_of

# --- the words of the forms (seed references: see guichet_accounts.domain.messages) -------------------------

CIVILITIES = {"monsieur": "Monsieur", "madame": "Madame"}  # seed: 004 shows « Monsieur »
ACCOUNT_TYPES = {  # seed: 000 (« Vous êtes un particulier / un professionnel / une association »)
    "particulier": "Vous êtes un particulier",
    "professionnel": "Vous êtes un professionnel",
    "association": "Vous êtes une association",
}
# seed: 003 — « choisir un mode de communication lié à vos démarches : courriel, téléphone, SMS »
COMMUNICATION_MODES = {"email": "courriel", "phone": "téléphone", "sms": "SMS"}
# The list of security questions (seed 002 shows a « liste déroulante » but not
# its content; these are composed and a town may replace them).
SECURITY_QUESTIONS = {
    "first_pet": "Quel est le nom de votre premier animal de compagnie ?",
    "primary_school": "Quel est le nom de votre école primaire ?",
    "childhood_friend": "Quel est le prénom de votre meilleur ami d'enfance ?",
    "childhood_nickname": "Quel était votre surnom quand vous étiez enfant ?",
    "first_car": "Quelle était la marque de votre première voiture ?",
    "parents_meeting_town": "Dans quelle ville vos parents se sont-ils rencontrés ?",
}
ACCOUNT_STATUSES = ("pending_activation", "awaiting_validation", "active")
MEMBER_ROLES = ("titulaire", "conjoint", "enfant", "autre")
ADDABLE_ROLES = ("conjoint", "enfant", "autre")
GUARDIAN_RELATIONS = ("pere", "mere", "tuteur")

EMAIL_NEEDED_NOTICE = "Attention ! Pour toute demande, une adresse courriel est nécessaire."  # seed: 001
CIVILITY_INVALID = "Choisissez une civilité : Monsieur ou Madame."  # composed
ACCOUNT_TYPE_INVALID = "Choisissez un type de compte : particulier, professionnel ou association."  # composed
COMMUNICATION_INVALID = "Choisissez un mode de communication : courriel, téléphone ou SMS."  # composed from seed 003
CGU_REQUIRED = "Vous devez accepter les conditions générales d'utilisation."  # composed
SECURITY_QUESTION_UNKNOWN = "Choisissez une question dans la liste."  # composed
ROLE_INVALID = "Choisissez un rôle : conjoint, enfant ou autre."  # composed
GUARDIAN_RELATION_INVALID = "Choisissez un lien : père, mère ou tuteur."  # composed
GUARDIANS_ONLY_CHILDREN = "Seuls les enfants ont des responsables légaux."  # composed
GUARDIAN_WHO = "Indiquez le membre du foyer ou le nom du responsable légal."  # composed
SEX_INVALID = "Choisissez un sexe : F ou M."  # composed
CAF_INVALID = "Le numéro d'allocataire CAF ne contient que des chiffres (7 au maximum)."  # composed


def _token(**kwargs) -> Text:
    return Text(max_length=200, collapse=False, **kwargs)


# --- request bodies: the citizen's forms -------------------------------------------------------------------

class Phones(FrenchSchema):
    personal = Phone(metadata={"example": "0102030405"})  # « Téléphone personnel (ex. : 0102030405) », seed 002
    mobile = Phone(mobile=True, metadata={"example": "0606060605"})  # « Téléphone portable », seed 002
    office = Phone()  # « Téléphone bureau (ex. : 0102030405) », seed 002


class Address(FrenchSchema):
    """The fields of an address; its rules (street or lieu-dit, French postal codes) are the service's."""

    apartment = Text(max_length=38)  # « N° App - Etage - Couloir - Esc », seed 002
    building = Text(max_length=38)  # « Entrée - Batiment - Résidence », seed 002
    street_number = Text(max_length=10)  # « Numéro de voie », seed 002
    street_name = Text(max_length=100)  # « Libellé de la voie », seed 002
    lieu_dit = Text(max_length=38)  # « Lieu Dit ou Service », seed 002
    postal_code = Text(required=True, max_length=12)  # « Code Postal * », seed 002
    locality = Text(required=True, max_length=100)  # « Localité * », seed 002
    country = Text(load_default="France", max_length=60)  # « Pays », seed 002


class ProfileFields(FrenchSchema):
    """Civil data, contact, address, account type and security question: registration and « Mon compte »."""

    account_type = Choice(tuple(ACCOUNT_TYPES), error=ACCOUNT_TYPE_INVALID, load_default="particulier")
    civility = Choice(tuple(CIVILITIES), error=CIVILITY_INVALID, required=True)
    birth_name = Name(required=True)
    usage_name = Name()
    first_name = Name(required=True)
    second_first_name = Name()
    third_first_name = Name()
    birth_date = Day(required=True, metadata={"example": "1988-03-04"})
    birth_country = Text(max_length=60)
    birth_commune = Commune(max_length=100)
    birth_department = Text(max_length=3)
    email = Email(required=True, error_messages={"required": EMAIL_NEEDED_NOTICE},
                  metadata={"example": "jacques.dupond@test.fr"})
    phones = Group(Phones, load_default=dict)
    address = Group(Address, allow_none=True, load_default=None)
    organisation_name = Text(max_length=200)
    siret = Siret(max_length=20)
    rna = Rna(max_length=20)
    communication_preference = Choice(tuple(COMMUNICATION_MODES), error=COMMUNICATION_INVALID, load_default="email")
    security_question = Choice(tuple(SECURITY_QUESTIONS), error=SECURITY_QUESTION_UNKNOWN)
    security_answer = Text(max_length=100)


class Registration(ProfileFields):
    """The registration form; which other fields are required depends on the town (the service says)."""

    cgu_accepted = Flag(required=True, error_messages={"required": CGU_REQUIRED, "null": CGU_REQUIRED})
    captcha_id = Text(max_length=64)
    captcha_answer = Text(max_length=32)


class SocialData(FrenchSchema):
    """Social data (issue 4): regime, RFR, allocataire and CAF number, QF, dependent children, resources."""

    regime = Text(max_length=50)
    reference_tax_income = Integer(metadata={"description": "Revenu fiscal de référence (euros)"})
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


class ProfileChanges(ProfileFields):
    """« Mon compte »: the fields to change (any of them) and the social data."""

    social = Group(SocialData)

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("partial", True)  # a change names only what changes
        super().__init__(**kwargs)


class Guardian(FrenchSchema):
    relation = Choice(GUARDIAN_RELATIONS, error=GUARDIAN_RELATION_INVALID, required=True)
    member_id = Text(max_length=36)
    name = Text(max_length=200)

    @validates_schema(skip_on_field_errors=False)
    def _who(self, data, **kwargs):
        if not data.get("member_id") and not data.get("name"):
            raise ValidationError({"name": [GUARDIAN_WHO]})


class School(FrenchSchema):
    """Schooled children (issue 4): school year, school, level, class, certificate link."""

    school_year = Text(max_length=9, metadata={"example": "2026-2027"})
    school = Text(max_length=200)
    level = Text(max_length=50)
    class_name = Text(max_length=50)
    certificate_url = Url(max_length=500)


class Member(FrenchSchema):
    """« Mon foyer »: a member the citizen adds (the titulaire is the account itself).

    No ``school``: a child's schooling is recorded by the town's enfance agents (audited route)."""

    role = Choice(ADDABLE_ROLES, error=ROLE_INVALID, required=True)
    relation = Text(max_length=50)
    civility = Choice(tuple(CIVILITIES), error=CIVILITY_INVALID)
    birth_name = Name(metadata={"description": "Pré-rempli avec le nom du titulaire"})
    usage_name = Name()
    first_name = Name(required=True)
    birth_date = Day(allow_none=True, load_default=None)
    sex = Choice(("F", "M"), error=SEX_INVALID)
    guardians = fields.List(fields.Nested(Guardian), load_default=None, allow_none=True,
                            error_messages={"invalid": french_messages.FIELD_INVALID})

    @validates_schema(skip_on_field_errors=False)
    def _children_only(self, data, **kwargs):
        if data.get("guardians") and data.get("role") not in (None, "enfant"):
            raise ValidationError({"guardians": [GUARDIANS_ONLY_CHILDREN]})


class MemberChanges(Member):
    """The fields of a member to change (any of them)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("partial", True)  # a change names only what changes
        super().__init__(**kwargs)


# --- request bodies: sessions and recovery ------------------------------------------------------------------

class ValidateOnly(FrenchSchema):
    validate_only = Flag(load_default=False, metadata={
        "description": "true : vérifier le formulaire et renvoyer le récapitulatif, sans rien enregistrer"})


class LinkToken(FrenchSchema):
    """The token of an activation or reset link."""

    token = _token(required=True)


class Activation(LinkToken):
    login = Text(max_length=200, metadata={"description": "Par défaut prénom.nom"})
    password = Secret(required=True)
    password_confirmation = Secret(required=True)


class Login(FrenchSchema):
    """« Identifiant » (a login or an email) and « Mot de passe » (seeds 000, 004)."""

    identifier = Text(required=True, max_length=254, metadata={"description": "Identifiant ou adresse email"})
    password = Secret(required=True)


class AgentLogin(FrenchSchema):
    login = Text(required=True, max_length=64)
    password = Secret(required=True)
    totp_code = Text(max_length=10, metadata={"description": "Code de l'application d'authentification"})


class Refresh(FrenchSchema):
    refresh_token = _token(required=True)


class Logout(FrenchSchema):
    refresh_token = _token()


class EmailAddress(FrenchSchema):
    email = Email(required=True)


class Identifier(FrenchSchema):
    identifier = Text(required=True, max_length=254, metadata={"description": "Identifiant ou adresse email"})


class ForgottenPassword(Identifier):
    security_answer = Text(max_length=100)


class PasswordReset(LinkToken):
    password = Secret(required=True)
    password_confirmation = Secret(required=True)


class PasswordChange(FrenchSchema):
    current_password = Secret(required=True)
    new_password = Secret(required=True)
    new_password_confirmation = Secret(required=True)


# --- request bodies and queries: agents ---------------------------------------------------------------------

class AccountSearchQuery(PageQuery):
    """Citizen accounts by name, email or login, and by status; newest first."""

    q = Text(max_length=100, metadata={"description": "Nom, prénom, email ou identifiant (partiel)"})
    status = Choice(ACCOUNT_STATUSES, error="Statut inconnu : " + ", ".join(ACCOUNT_STATUSES) + ".")  # composed


class Provision(FrenchSchema):
    """One family of a provisioned-accounts import (Saint-Joseph): no email required."""

    civility = Choice(tuple(CIVILITIES), error=CIVILITY_INVALID)
    birth_name = Name(required=True)
    usage_name = Name()
    first_name = Name(required=True)
    birth_date = Day(allow_none=True, load_default=None)
    family_file_ref = Text(max_length=64)
    login = Text(max_length=64)
    password = Secret(allow_none=True, metadata={"description": "Par défaut : généré (à imprimer)"})
    email = Email(allow_none=True, load_default=None)
    phone_mobile = Phone(mobile=True)


class FamilyFileReference(FrenchSchema):
    family_file_ref = Text(required=True, max_length=64, metadata={"example": "F-2026-0042"})


class CsvUpload(FrenchSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                                "description": "CSV (; ou ,), UTF-8, 1 Mo au plus"})


# --- answers ------------------------------------------------------------------------------------------------

def _text(**kwargs) -> fields.String:
    """An answer's text; ``nullable`` when the service may send null."""
    return fields.String(allow_none=kwargs.pop("nullable", False), **kwargs)


class Captcha(FrenchSchema):
    captcha_id = _text(required=True, metadata={"description": "À renvoyer avec la réponse (captcha_id)"})
    image = _text(required=True, metadata={"description": "Image PNG (data URI)"})
    audio_url = _text(metadata={"description": "Alternative audio (WAV) : les mêmes caractères épelés en français "
                                               "(ajoutée par la passerelle)",
                                "example": "/api/v1/captcha/Xy3.../audio"})
    expires_in = fields.Integer(required=True, metadata={"description": "Secondes de validité", "example": 600})
    label = _text()
    hint = _text()
    audio_label = _text()


class CaptchaAudio(FrenchSchema):
    """The RPC answer behind the audio route (which answers the WAV bytes)."""

    captcha_id = _text(required=True)
    content_type = _text(required=True)
    audio = _text(required=True, metadata={"description": "WAV, base64"})


class RegistrationRecap(FrenchSchema):
    """``validate_only``: the form as the service understood it (normalised), nothing saved."""

    valid = fields.Boolean(required=True)
    recap = fields.Dict(required=True, metadata={
        "description": "Les champs du formulaire, normalisés (sans le captcha ni la réponse de sécurité)"})


class Registered(FrenchSchema):
    account_id = _text(required=True)
    status = _text(required=True, metadata={"enum": list(ACCOUNT_STATUSES)})
    message = _text(required=True)


class ActivationPreview(FrenchSchema):
    suggested_login = _text(required=True, metadata={"example": "jacques.dupond"})
    login_notice = _text(required=True)
    password_policy = _text(required=True)


class Tokens(FrenchSchema):
    access_token = _text(required=True, metadata={"description": "Jeton d'accès (JWT EdDSA)"})
    token_type = _text(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Secondes de validité du jeton d'accès"})
    refresh_token = _text(required=True, metadata={"description": "À usage unique : chaque rafraîchissement "
                                                                  "en renvoie un nouveau"})
    session_id = _text(required=True)


class CitizenSession(Tokens):
    login = _text(nullable=True)
    status = _text(required=True, metadata={"enum": list(ACCOUNT_STATUSES)})
    last_login = _text(nullable=True, metadata={"example": "Dernière connexion le 04/03/2026 à 10:12"})
    email_required = fields.Boolean(metadata={"description": "Compte créé par la mairie, sans email"})
    password_change_required = fields.Boolean(metadata={
        "description": "Mot de passe provisoire de la mairie : à remplacer (PUT /me/password) avant toute "
                       "modification"})
    notice = _text(nullable=True)


class AgentSession(Tokens):
    roles = fields.List(fields.String(), required=True)
    display_name = _text(required=True)


class LoggedOut(FrenchSchema):
    logged_out = fields.Boolean(required=True)


class Acknowledgement(FrenchSchema):
    """The same answer whether an account exists or not."""

    message = _text(required=True)


class SecurityQuestion(FrenchSchema):
    security_question = _text(required=True, nullable=True, metadata={
        "description": "Clé de la question (null : pas de question, le lien part par email)"})
    security_question_label = _text()


class PasswordWasReset(FrenchSchema):
    reset = fields.Boolean(required=True)
    login = _text(required=True, nullable=True)
    message = _text(required=True)


class PasswordWasChanged(FrenchSchema):
    changed = fields.Boolean(required=True)
    sessions_ended = fields.Integer(required=True, metadata={"description": "Mes autres sessions fermées"})


class Profile(FrenchSchema):
    """« Mon compte »."""

    account_id = _text(required=True)
    status = _text(required=True, metadata={"enum": list(ACCOUNT_STATUSES)})
    account_type = _text(required=True, metadata={"enum": list(ACCOUNT_TYPES)})
    provisioned = fields.Boolean(required=True, metadata={"description": "Compte créé par la mairie"})
    login = _text(nullable=True)
    civility = _text(nullable=True)
    birth_name = _text(nullable=True)
    usage_name = _text(nullable=True)
    first_name = _text(nullable=True)
    second_first_name = _text(nullable=True)
    third_first_name = _text(nullable=True)
    birth_date = Day(allow_none=True)
    birth_country = _text(nullable=True)
    birth_commune = _text(nullable=True)
    birth_department = _text(nullable=True)
    email = _text(nullable=True)
    phones = fields.Nested(Phones, required=True, metadata={"description": "Les numéros renseignés seulement"})
    address = fields.Nested(Address, allow_none=True)
    organisation_name = _text(nullable=True)
    siret = _text(nullable=True)
    rna = _text(nullable=True)
    communication_preference = _text(required=True, metadata={"enum": list(COMMUNICATION_MODES)})
    security_question = _text(nullable=True)
    security_question_label = _text(nullable=True)
    family_file_ref = _text(nullable=True)
    social = fields.Nested(SocialData, required=True, metadata={"description": "Vide si rien n'est renseigné"})
    last_login = _text(nullable=True)
    email_required = fields.Boolean(required=True)
    password_change_required = fields.Boolean(required=True, metadata={
        "description": "Mot de passe provisoire de la mairie : à remplacer avant toute modification"})
    can_pay_online = fields.Boolean(required=True)
    can_modify = fields.Boolean(required=True, metadata={"description": "false tant que la mairie n'a pas validé"})
    notice = _text(nullable=True)


class HouseholdMember(FrenchSchema):
    member_id = _text(required=True)
    role = _text(required=True, metadata={"enum": list(MEMBER_ROLES)})
    relation = _text(nullable=True)
    civility = _text(nullable=True)
    birth_name = _text(nullable=True)
    usage_name = _text(nullable=True)
    first_name = _text(nullable=True)
    birth_date = Day(allow_none=True)
    sex = _text(nullable=True)
    guardians = fields.List(fields.Nested(Guardian), allow_none=True)
    school = fields.Nested(School, allow_none=True)


class Household(FrenchSchema):
    members = fields.List(fields.Nested(HouseholdMember), required=True, metadata={
        "description": "Le titulaire d'abord, puis le conjoint, les enfants et les autres membres"})
    family_file_ref = _text(required=True, nullable=True)


class MemberRemoved(FrenchSchema):
    removed = fields.Boolean(required=True)
    member_id = _text(required=True)


class AccountSummary(FrenchSchema):
    """One line of the agents' account search."""

    account_id = _text(required=True)
    status = _text(required=True, metadata={"enum": list(ACCOUNT_STATUSES)})
    account_type = _text(required=True, metadata={"enum": list(ACCOUNT_TYPES)})
    provisioned = fields.Boolean(required=True)
    civility = _text(nullable=True)
    first_name = _text(nullable=True)
    birth_name = _text(nullable=True)
    usage_name = _text(nullable=True)
    email = _text(nullable=True)
    login = _text(nullable=True)
    created_at = Timestamp(required=True)


AccountSummaryPage = page_of(AccountSummary, "AccountSummaryPage")


class AccountStatus(FrenchSchema):
    account_id = _text(required=True)
    status = _text(required=True, metadata={"enum": list(ACCOUNT_STATUSES)})


class ProvisionedAccount(FrenchSchema):
    account_id = _text(required=True)
    login = _text(required=True)
    password = _text(required=True, metadata={"description": "Mot de passe initial, à imprimer"})
    notice = _text(required=True)


class ImportLine(FrenchSchema):
    """One line of a CSV import: the account created, or the line's errors."""

    line = fields.Integer(required=True, metadata={"description": "Numéro de la ligne dans le fichier"})
    account_id = _text()
    login = _text()
    password = _text()
    notice = _text()
    errors = fields.Dict(metadata={"description": "Par champ, les messages en français"})


class ImportReport(FrenchSchema):
    lines = fields.List(fields.Nested(ImportLine), required=True)


class AccountFamilyFile(FrenchSchema):
    account_id = _text(required=True)
    family_file_ref = _text(required=True, nullable=True)


class MemberSchooling(FrenchSchema):
    account_id = _text(required=True)
    member_id = _text(required=True)
    school = fields.Nested(School, required=True, allow_none=True, metadata={"description": "null : non scolarisé"})


class AuditEntry(FrenchSchema):
    """What an agent did: who, what, on which account, when."""

    id = fields.Integer(required=True)
    agent_id = _text(required=True)
    action = _text(required=True)
    target = _text(nullable=True)
    at = Timestamp(required=True)
    details = fields.Dict(allow_none=True)


AuditPage = page_of(AuditEntry, "AuditPage")


class PublicKeys(FrenchSchema):
    """The JWKS (RFC 7517) of the keys that sign the access tokens."""

    keys = fields.List(fields.Dict(), required=True)
