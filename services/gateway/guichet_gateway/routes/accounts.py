"""Accounts: registration, activation, login and sessions, password recovery, profile, household, agents.

The gateway checks the shape of the bodies (French 422 problems); the
accounts service applies the town's rules and the password policy, and
decides who may do what (a citizen reaches only their own household).
"""
from __future__ import annotations

import base64
import os

from flask import Response, request, url_for
from flask.views import MethodView
from marshmallow import fields, validate

from guichet_common.errors import InvalidInput
from guichet_contracts.fields import FrenchSchema

from ..api import Blueprint
from ..auth import current_caller, require_agent, require_citizen
from ..ratelimit import limiter
from ..rpc import rpc_client

blp = Blueprint("accounts", __name__, url_prefix="", description="Comptes, connexion, profil et foyer")

# Tight limits per client address on what guesses secrets or sends mail (the service also throttles
# per login and per address, with a lock-out that does not tell whether the account exists).
# GUICHET_RATELIMIT_AUTH replaces them all (benchmarks; a town behind a shared NAT may raise them).
_AUTH_OVERRIDE = os.environ.get("GUICHET_RATELIMIT_AUTH")
LOGIN_LIMIT = _AUTH_OVERRIDE or "10/minute"
RECOVERY_LIMIT = _AUTH_OVERRIDE or "5/minute"
REGISTRATION_LIMIT = _AUTH_OVERRIDE or "20/hour"
TOKEN_LIMIT = _AUTH_OVERRIDE or "20/minute"
REFRESH_LIMIT = _AUTH_OVERRIDE or "60/minute"


def _text(**kwargs):
    kwargs.setdefault("allow_none", True)
    return fields.String(validate=validate.Length(max=kwargs.pop("max", 254)), **kwargs)


def _secret(**kwargs):
    return fields.String(validate=validate.Length(max=1024), **kwargs)


def _accounts(method, caller=None, **kwargs):
    return rpc_client().call("accounts", method, kwargs=kwargs, caller=caller)


# --- schemas --------------------------------------------------------------------

class PhonesSchema(FrenchSchema):
    personal = _text(max=32, metadata={"example": "0102030405"})
    mobile = _text(max=32, metadata={"example": "0606060605"})
    office = _text(max=32)


class AddressSchema(FrenchSchema):
    apartment = _text(max=38)
    building = _text(max=38)
    street_number = _text(max=10)
    street_name = _text(max=100)
    lieu_dit = _text(max=38)
    postal_code = _text(max=12)
    locality = _text(max=100)
    country = _text(max=60)


class ProfileFieldsSchema(FrenchSchema):
    """Civil data, contact, address and account type (the service applies the town's rules)."""

    civility = _text(max=20, metadata={"description": "monsieur | madame"})
    birth_name = _text(max=100)
    usage_name = _text(max=100)
    first_name = _text(max=100)
    second_first_name = _text(max=100)
    third_first_name = _text(max=100)
    birth_date = _text(max=10, metadata={"description": "AAAA-MM-JJ", "example": "1988-03-04"})
    birth_country = _text(max=60)
    birth_commune = _text(max=100)
    birth_department = _text(max=3)
    email = _text(metadata={"example": "jacques.dupond@test.fr"})
    phones = fields.Nested(PhonesSchema, allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True)
    account_type = _text(max=20, metadata={"description": "particulier | professionnel | association"})
    organisation_name = _text(max=200)
    siret = _text(max=20)
    rna = _text(max=20)
    communication_preference = _text(max=10, metadata={"description": "email | phone | sms"})
    security_question = _text(max=64)
    security_answer = _text(max=100)


class CaptchaSchema(FrenchSchema):
    captcha_id = fields.String(metadata={"description": "À renvoyer avec la réponse (captcha_id)"})
    image = fields.String(metadata={"description": "Image PNG (data URI)"})
    audio_url = fields.String(metadata={"description": "Alternative audio (WAV) : les mêmes caractères épelés en "
                                                       "français", "example": "/api/v1/captcha/Xy3.../audio"})
    expires_in = fields.Integer(metadata={"description": "Secondes de validité", "example": 600})
    label = fields.String()
    hint = fields.String()
    audio_label = fields.String()


class RegistrationSchema(ProfileFieldsSchema):
    cgu_accepted = fields.Boolean(allow_none=True)
    captcha_id = _text(max=64)
    captcha_answer = _text(max=32)


class ValidateOnlySchema(FrenchSchema):
    validate_only = fields.Boolean(load_default=False)


class ActivationSchema(FrenchSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    login = _text(max=200, metadata={"description": "Par défaut prénom.nom"})
    password = _secret(required=True)
    password_confirmation = _secret(required=True)


class TokenSchema(FrenchSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LoginSchema(FrenchSchema):
    identifier = fields.String(required=True, validate=validate.Length(min=1, max=254),
                               metadata={"description": "Identifiant ou adresse email"})
    password = _secret(required=True)


class AgentLoginSchema(FrenchSchema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = _secret(required=True)
    totp_code = _text(max=10)


class RefreshSchema(FrenchSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LogoutSchema(FrenchSchema):
    refresh_token = _text(max=200)


class EmailSchema(FrenchSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class IdentifierSchema(FrenchSchema):
    identifier = fields.String(required=True, validate=validate.Length(min=1, max=254))


class ForgottenPasswordSchema(IdentifierSchema):
    security_answer = _text(max=100)


class PasswordResetSchema(FrenchSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = _secret(required=True)
    password_confirmation = _secret(required=True)


class PasswordChangeSchema(FrenchSchema):
    current_password = _secret(required=True)
    new_password = _secret(required=True)
    new_password_confirmation = _secret(required=True)


class SocialSchema(FrenchSchema):
    regime = _text(max=50)
    reference_tax_income = fields.Integer(allow_none=True, metadata={"description": "Revenu fiscal de référence (euros)"})
    allocataire_name = _text(max=200)
    caf_number = _text(max=20)
    quotient_familial = fields.Integer(allow_none=True)
    dependent_children = fields.Integer(allow_none=True)
    monthly_resources_cents = fields.Integer(allow_none=True)
    family_composition = _text(max=100)


class ProfileChangesSchema(ProfileFieldsSchema):
    social = fields.Nested(SocialSchema)


class GuardianSchema(FrenchSchema):
    relation = fields.String(required=True, metadata={"description": "pere | mere | tuteur"})
    member_id = _text(max=36)
    name = _text(max=200)


class SchoolSchema(FrenchSchema):
    school_year = _text(max=9)
    school = _text(max=200)
    level = _text(max=50)
    class_name = _text(max=50)
    certificate_url = _text(max=500)


class MemberSchema(FrenchSchema):
    role = _text(max=20, metadata={"description": "conjoint | enfant | autre"})
    relation = _text(max=50)
    civility = _text(max=20)
    birth_name = _text(max=100, metadata={"description": "Pré-rempli avec le nom du titulaire"})
    usage_name = _text(max=100)
    first_name = _text(max=100)
    birth_date = _text(max=10)
    sex = _text(max=1)
    guardians = fields.List(fields.Nested(GuardianSchema), allow_none=True)
    school = fields.Nested(SchoolSchema, allow_none=True)


class SearchSchema(FrenchSchema):
    q = fields.String(validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(["pending_activation", "awaiting_validation", "active"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ImportSchema(FrenchSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                                "description": "CSV (; ou ,), UTF-8, 1 Mo au plus"})


class FamilyFileSchema(FrenchSchema):
    family_file_ref = _text(max=64, required=True, metadata={"example": "F-2026-0042"})


class AuditQuerySchema(FrenchSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ProvisionSchema(FrenchSchema):
    civility = _text(max=20)
    birth_name = fields.String(required=True, validate=validate.Length(max=100))
    usage_name = _text(max=100)
    first_name = fields.String(required=True, validate=validate.Length(max=100))
    birth_date = _text(max=10)
    family_file_ref = _text(max=64)
    login = _text(max=64)
    password = _secret(allow_none=True)
    email = _text()
    phone_mobile = _text(max=32)


# --- public routes --------------------------------------------------------------

@blp.route("/captcha", methods=["GET"])
@limiter.limit(TOKEN_LIMIT)
@blp.response(200, CaptchaSchema)
def new_captcha():
    """A captcha: its id, a PNG image (data URI) and the URL of its audio alternative.

    Each answer is checked once (right or wrong) and the captcha expires after ``expires_in`` seconds.
    """
    challenge = _accounts("new_captcha")
    return {**challenge, "audio_url": url_for("accounts.captcha_audio", captcha_id=challenge["captcha_id"])}


@blp.route("/captcha/<string(maxlength=64):captcha_id>/audio", methods=["GET"])
@limiter.limit(TOKEN_LIMIT)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="audio/wav",
              description="Les caractères de l'image épelés en français, sur un bruit de fond (WAV)")
@blp.alt_response(404, response="NOT_FOUND", description="Captcha inconnu, déjà utilisé ou expiré")
def captcha_audio(captcha_id):
    """The audio alternative of a captcha (accessibility): its characters spelled in French.

    The same characters as the image, over background noise (WAV). A captcha already answered, expired or
    unknown is a 404 problem.
    """
    answer = _accounts("captcha_audio", captcha_id=captcha_id)
    response = Response(base64.b64decode(answer["audio"]), mimetype="audio/wav")
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/accounts/registrations", methods=["POST"])
@limiter.limit(REGISTRATION_LIMIT)
@blp.arguments(ValidateOnlySchema, location="query")
@blp.arguments(RegistrationSchema)
@blp.response(201)
def register(query, registration):
    """Create a citizen account (``?validate_only=true``: check and return the recap, save nothing)."""
    answer = _accounts("register", registration=registration, validate_only=query["validate_only"])
    return answer, (200 if query["validate_only"] else 201)


@blp.route("/accounts/activation/preview", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(TokenSchema)
@blp.response(200)
def activation_preview(payload):
    """The login proposed by default (prénom.nom) and the password policy, for the activation page."""
    return _accounts("activation_preview", token=payload["token"])


@blp.route("/accounts/activation", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(ActivationSchema)
@blp.response(200)
def activate(payload):
    """Follow the activation link: choose the login and the password; answers the tokens (logged in)."""
    return _accounts("activate", **payload)


@blp.route("/auth/login", methods=["POST"])
@limiter.limit(LOGIN_LIMIT)
@blp.arguments(LoginSchema)
@blp.response(200)
def login(payload):
    """Log in with a login or an email; the answer carries « Dernière connexion le … »."""
    return _accounts("login", ip=request.remote_addr, **payload)


@blp.route("/auth/agent/login", methods=["POST"])
@limiter.limit(LOGIN_LIMIT)
@blp.arguments(AgentLoginSchema)
@blp.response(200)
def agent_login(payload):
    """Agent login: password and the code of the authenticator application (TOTP)."""
    return _accounts("agent_login", ip=request.remote_addr, **payload)


@blp.route("/auth/refresh", methods=["POST"])
@limiter.limit(REFRESH_LIMIT)
@blp.arguments(RefreshSchema)
@blp.response(200)
def refresh(payload):
    """New access token and new refresh token (the old one may not be used again)."""
    return _accounts("refresh", refresh_token=payload["refresh_token"])


@blp.route("/auth/logout", methods=["POST"])
@limiter.limit(REFRESH_LIMIT)
@blp.arguments(LogoutSchema)
@blp.response(200)
def logout(payload):
    """End the session (of the bearer token, or of the given refresh token)."""
    caller = current_caller()
    return _accounts("logout", caller=caller if caller.authenticated else None,
                     refresh_token=payload.get("refresh_token"))


@blp.route("/auth/forgotten-login", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(EmailSchema)
@blp.response(200)
def forgotten_login(payload):
    """The login is sent by email (same answer whether an account exists or not)."""
    return _accounts("forgotten_login", email=payload["email"])


@blp.route("/auth/security-question", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(IdentifierSchema)
@blp.response(200)
def security_question(payload):
    """The security question to answer before the reset email, where the town uses it."""
    return _accounts("security_question", identifier=payload["identifier"])


@blp.route("/auth/forgotten-password", methods=["POST"])
@limiter.limit(RECOVERY_LIMIT)
@blp.arguments(ForgottenPasswordSchema)
@blp.response(200)
def forgotten_password(payload):
    """A reset link is sent by email (same answer whether an account exists or not)."""
    return _accounts("forgotten_password", **payload)


@blp.route("/auth/password-reset", methods=["POST"])
@limiter.limit(TOKEN_LIMIT)
@blp.arguments(PasswordResetSchema)
@blp.response(200)
def password_reset(payload):
    """Choose a new password with the link of the reset email; every session ends."""
    return _accounts("reset_password", **payload)


# --- citizen routes -------------------------------------------------------------

@blp.route("/me")
class Me(MethodView):
    @require_citizen
    @blp.response(200)
    def get(self, caller):
        """My account: civil data, contact, address, social data, last login."""
        return _accounts("me", caller=caller)

    @require_citizen
    @blp.arguments(ProfileChangesSchema)
    @blp.response(200)
    def patch(self, changes, caller):
        """Change my account (refused while the town has not validated it)."""
        return _accounts("update_me", caller=caller, changes=changes)


@blp.route("/me/password", methods=["PUT"])
@limiter.limit(TOKEN_LIMIT)
@require_citizen
@blp.arguments(PasswordChangeSchema)
@blp.response(200)
def change_password(payload, caller):
    """Change my password; my other sessions end."""
    return _accounts("change_password", caller=caller, **payload)


@blp.route("/me/household/members")
class Members(MethodView):
    @require_citizen
    @blp.response(200)
    def get(self, caller):
        """Mon foyer: the titulaire, the spouse or partner, the children and others."""
        return _accounts("household", caller=caller)

    @require_citizen
    @blp.arguments(MemberSchema)
    @blp.response(201)
    def post(self, member, caller):
        """Add a member (the family name is pre-filled with mine)."""
        return _accounts("add_member", caller=caller, member=member)


@blp.route("/me/household/members/<member_id>")
class Member(MethodView):
    @require_citizen
    @blp.arguments(MemberSchema)
    @blp.response(200)
    def patch(self, changes, member_id, caller):
        """Edit a member of my household."""
        return _accounts("update_member", caller=caller, member_id=member_id, changes=changes)

    @require_citizen
    @blp.response(200)
    def delete(self, member_id, caller):
        """Remove a member of my household."""
        return _accounts("remove_member", caller=caller, member_id=member_id)


# --- agent routes ---------------------------------------------------------------

@blp.route("/agent/accounts")
class AgentAccounts(MethodView):
    @require_agent("account_validator")
    @blp.arguments(SearchSchema, location="query")
    @blp.response(200)
    def get(self, query, caller):
        """Search citizen accounts (by name, email or login; by status)."""
        return _accounts("agent_search", caller=caller, query=query.get("q"), status=query.get("status"),
                         page=query["page"], page_size=query["page_size"])

    @require_agent("administrator")
    @blp.arguments(ProvisionSchema)
    @blp.response(201)
    def post(self, account, caller):
        """Create a town-provisioned account (login and initial password to print on the invoice)."""
        return _accounts("agent_provision", caller=caller, account=account)


@blp.route("/agent/accounts/<account_id>/validation", methods=["POST"])
@require_agent("account_validator")
@blp.response(200)
def validate_account(account_id, caller):
    """Validate an account awaiting the town's validation (audited, notified)."""
    return _accounts("agent_validate", caller=caller, account_id=account_id)


MAX_IMPORT_BYTES = 1024 * 1024
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")
IMPORT_TIMEOUT = 120  # seconds: each line hashes an initial password (argon2id)


class InvalidUpload(InvalidInput):
    slug = "invalid-upload"


def _csv_text(upload) -> str:
    """The uploaded file as text, refused unless it is a small UTF-8 (or Latin-1, as Excel saves) CSV file."""
    name = (getattr(upload, "filename", None) or "").lower()
    if not hasattr(upload, "read") or not name.endswith((".csv", ".txt")) or upload.mimetype not in CSV_TYPES:
        raise InvalidUpload(errors={"file": ["Le fichier doit être au format CSV (.csv)."]})  # composed
    content = upload.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidUpload(errors={"file": ["Le fichier dépasse la taille maximale de 1 Mo."]})  # composed
    if b"\0" in content:
        raise InvalidUpload(errors={"file": ["Le fichier doit être au format CSV (.csv)."]})  # composed
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


@blp.route("/agent/accounts/imports", methods=["POST"])
@require_agent("administrator")
@blp.arguments(ImportSchema, location="files")
@blp.response(200)
def import_families(files, caller):
    """Create town-provisioned accounts from a CSV file, one per line (answers each line's login and initial
    password, or its errors)."""
    return {"lines": rpc_client().call("accounts", "agent_import_families", kwargs={"csv_text": _csv_text(files["file"])},
                                       caller=caller, timeout=IMPORT_TIMEOUT)}


@blp.route("/agent/accounts/<account_id>/family-file", methods=["PUT"])
@require_agent("enfance", "regisseur")
@blp.arguments(FamilyFileSchema)
@blp.response(200)
def set_family_file(payload, account_id, caller):
    """Attach a family-file reference (dossier famille) to an account."""
    return _accounts("agent_set_family_file", caller=caller, account_id=account_id,
                     family_file_ref=payload["family_file_ref"])


@blp.route("/agent/audit", methods=["GET"])
@require_agent("administrator")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200)
def audit(query, caller):
    """The latest agent actions (who, what, when), newest first."""
    return {"items": _accounts("agent_audit", caller=caller, limit=query["limit"])}


@blp.route("/agent/accounts/<account_id>/members/<member_id>/school", methods=["PUT"])
@require_agent("enfance")
@blp.arguments(SchoolSchema)
@blp.response(200)
def set_school(school, account_id, member_id, caller):
    """Record a child's schooling (school year, school, level, class, certificate link), audited."""
    return _accounts("agent_set_school", caller=caller, account_id=account_id, member_id=member_id, school=school)


@blp.route("/agent/accounts/<account_id>/members/<member_id>/school", methods=["DELETE"])
@require_agent("enfance")
@blp.response(200)
def clear_school(account_id, member_id, caller):
    """The child is no longer schooled in the town."""
    return _accounts("agent_set_school", caller=caller, account_id=account_id, member_id=member_id, school=None)
