"""The registration form, the activation form and the town's registration rules.

marshmallow 4 schemas with French messages. ``load`` returns plain dicts of
normalised values (E.164 phones, ``datetime.date``, lower-case email, SIRET
digits, upper-case RNA…) or raises ``ValidationError`` whose ``messages``
maps each field (nested for ``phones`` and ``address``) to French messages.
Loading without saving is how a client shows the recap (« Informations de la
demande », seed 004) before « ENREGISTRER LA DEMANDE ».

Every rule is checked in one pass: cross-field rules run even when some fields
already failed, so the citizen sees every problem at once.

Town rules (``RegistrationRules``) and the seed each default comes from:

- ``phones_required="at_least_one"`` — seed 002 (Saint-Joseph), the only seed
  whose registration form asks for phones: « Téléphones * (au moins un numéro
  de téléphone est obligatoire) ». Also ``"none"`` (seed 004, Quiévrechain,
  asks no phone) or a tuple of required kinds, e.g. ``("mobile",)``.
- ``security_question="optional"`` — seed 002 requires a question and its
  answer, seed 003 uses it to recover a lost password, seed 004 has none and
  recovers by email only: by default the citizen may set one (and the
  question-based recovery is then offered); ``"required"`` is Saint-Joseph,
  ``"off"`` Quiévrechain.
- ``validation_by_town=False`` — seeds 002 and 004 let the citizen use the
  account at once (« En validant vous serez automatiquement connecté à votre
  compte », 004); seed 003 is the town that validates (« Puis-je effectuer des
  démarches si mon compte n'est pas encore validé ? »).
- ``captcha=True`` — seeds 002 (« Saisir le texte de l'image »), 003 (« le
  cryptogramme ») and 004 (« Recopiez les caractères de l'image ») all have one.
- ``address_required=True`` — seed 002 marks « Adresse * », « Numéro de voie -
  Libellé de la voie * », « Code Postal * - Localité * » (seed 004 has no
  address at registration: set ``False`` for such a town).
- ``birth_place_required=True`` — seed 004 marks « Pays de naissance * »,
  « Commune de naissance * », « Département de naissance * » (seed 002 does not
  ask: set ``False``). The department is only asked for a birth in France.

Other decisions:

- Civility ``monsieur`` / ``madame`` (seed 004 shows « Monsieur »).
- Names: letters (accents allowed), spaces, hyphens and apostrophes, at most
  100 characters, surrounding and repeated spaces removed. The birth commune
  may contain digits (« LYON 02 », seed 004).
- Birth date in ISO 8601 (the API's convention), not in the future and at
  most 130 years ago.
- Email: always required (« Email * » in 004, « Courriel * » in 002, and
  « Attention ! Pour toute demande, une adresse courriel est nécessaire. » in
  001, used as its « required » message); stored lower-case.
- Address: « Numéro de voie - Libellé de la voie » is split in
  ``street_number`` and ``street_name``; a street name or a lieu-dit is
  required (rural addresses have only a lieu-dit); the postal code has 5
  digits when the country is France (the default country).
- Account type (seed 000): ``particulier`` (default), ``professionnel``
  (SIRET required), ``association`` (RNA required; an association may also
  give a SIRET). ``organisation_name`` is optional.
- Communication preference (seed 003: « courriel, téléphone, SMS »):
  ``email`` (default), ``phone`` (needs a phone), ``sms`` (needs a mobile
  phone; the error is put on ``phones.mobile``, where it is to be fixed).
- CGU acceptance must be ``true``.
- Captcha: ``captcha_id`` and ``captcha_answer`` are required when the town
  uses a captcha; checking the answer (single use, expiring) is the service's
  job, since it needs the captcha store.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, missing, post_load, validates_schema

from ..exceptions import AccountNotValidated
from . import messages as msg
from .identifiers import IdentifierError, normalise_rna, normalise_siret
from .logins import check_login, normalise_login, remove_accents
from .passwords import check_password, check_password_confirmation
from .phones import PHONE_KINDS, PhoneError, normalise_mobile, normalise_phone

PHONE_POLICIES = ("none", "at_least_one")
SECURITY_QUESTION_MODES = ("off", "optional", "required")
ACCOUNT_TYPES = tuple(msg.ACCOUNT_TYPES)
CIVILITIES = tuple(msg.CIVILITIES)
COMMUNICATION_MODES = tuple(msg.COMMUNICATION_MODES)
MAX_AGE_YEARS = 130
FRANCE = "France"
_FRANCE_NAMES = {"france", "fr", "fra", "france metropolitaine"}


# --------------------------------------------------------------------------
# Town rules
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RegistrationRules:
    """What the town's settings say about registration; defaults follow the seeds (see module doc)."""

    phones_required: str | tuple[str, ...] = "at_least_one"  # seed 002
    security_question: str = "optional"  # seeds 002 / 003 / 004
    validation_by_town: bool = False  # seeds 002, 004 (003 validates)
    captcha: bool = True  # seeds 002, 003, 004
    address_required: bool = True  # seed 002
    birth_place_required: bool = True  # seed 004

    def __post_init__(self):
        phones = self.phones_required
        if isinstance(phones, (list, tuple, set, frozenset)):
            kinds = tuple(phones)
            unknown = [k for k in kinds if k not in PHONE_KINDS]
            if unknown or not kinds:
                raise ValueError(
                    f"phones_required: unknown phone kind(s) {unknown!r}; expected a list among {PHONE_KINDS}"
                    if unknown else "phones_required: an empty list; use \"none\" instead")
            object.__setattr__(self, "phones_required", tuple(dict.fromkeys(kinds)))
        elif phones not in PHONE_POLICIES:
            raise ValueError(f"phones_required: {phones!r} is neither one of {PHONE_POLICIES} "
                             f"nor a list among {PHONE_KINDS}")
        if self.security_question not in SECURITY_QUESTION_MODES:
            raise ValueError(f"security_question: {self.security_question!r} is not one of {SECURITY_QUESTION_MODES}")
        for name in ("validation_by_town", "captcha", "address_required", "birth_place_required"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, data: Mapping | None) -> "RegistrationRules":
        """Build from the ``registration`` section of the town settings; a clear ``ValueError`` otherwise."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown registration setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    @property
    def required_phone_kinds(self) -> tuple[str, ...]:
        return self.phones_required if isinstance(self.phones_required, tuple) else ()


# --------------------------------------------------------------------------
# Account status (validation by the town, seed 003)
# --------------------------------------------------------------------------

AWAITING_ACTIVATION = "pending_activation"  # registered, activation link not yet followed
AWAITING_VALIDATION = "awaiting_validation"  # activated, the town has not validated yet
ACTIVE = "active"


def status_after_activation(rules: RegistrationRules) -> str:
    return AWAITING_VALIDATION if rules.validation_by_town else ACTIVE


def ensure_can_modify_account(status: str) -> None:
    """Seed 003: such an account may file procedures but not modify itself until validated."""
    if status != ACTIVE:
        raise AccountNotValidated()


# --------------------------------------------------------------------------
# Fields with French messages
# --------------------------------------------------------------------------

_FRENCH = {"required": msg.FIELD_REQUIRED, "null": msg.FIELD_NULL, "validator_failed": msg.FIELD_INVALID}
_NAME = re.compile(r"^[^\W\d_]+(?:(?: |-|'|’|' | ' |’ )[^\W\d_]+)*$")
_COMMUNE = re.compile(r"^[^\W_]+(?:(?: |-|'|’|' |’ )[^\W_]+)*$")
_DEPARTMENT = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-8]|98[4-9])$")
_SPACES = re.compile(r"\s+")


def is_france(country: str | None) -> bool:
    if not country:
        return True
    return remove_accents(country).strip().lower() in _FRANCE_NAMES


class Text(fields.String):
    """Stripped text; a blank value counts as missing (``required``) or becomes ``None``."""

    default_error_messages = {**_FRENCH, "invalid": msg.FIELD_NOT_TEXT, "invalid_utf8": msg.FIELD_NOT_TEXT,
                              "too_long": msg.FIELD_TOO_LONG}

    def __init__(self, *, max_length: int = 100, collapse: bool = True, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        if not kwargs.get("required", False):
            kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)
        self.max_length = max_length
        self.collapse = collapse

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = _SPACES.sub(" ", text).strip() if self.collapse else text.strip()
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        if len(text) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        return self.clean(text)

    def clean(self, text: str):
        return text


class Choice(Text):
    def __init__(self, choices, *, error: str, **kwargs):
        super().__init__(max_length=64, **kwargs)
        self.choices = tuple(choices)
        self.choice_error = error

    def clean(self, text):
        if text not in self.choices:
            raise ValidationError(self.choice_error)
        return text


class Name(Text):
    def clean(self, text):
        if not _NAME.match(text):
            raise ValidationError(msg.NAME_INVALID)
        return text


class Commune(Text):
    def clean(self, text):
        if not _COMMUNE.match(text):
            raise ValidationError(msg.NAME_INVALID)
        return text


class Phone(Text):
    def __init__(self, *, mobile: bool = False, **kwargs):
        super().__init__(max_length=32, **kwargs)
        self.mobile = mobile

    def clean(self, text):
        try:
            return normalise_mobile(text) if self.mobile else normalise_phone(text)
        except PhoneError as error:
            raise ValidationError(str(error)) from None


class Siret(Text):
    def clean(self, text):
        try:
            return normalise_siret(text)
        except IdentifierError as error:
            raise ValidationError(str(error)) from None


class Rna(Text):
    def clean(self, text):
        try:
            return normalise_rna(text)
        except IdentifierError as error:
            raise ValidationError(str(error)) from None


class Secret(fields.String):
    """A password as typed: never stripped or altered (checked by ``check_password``)."""

    default_error_messages = {**_FRENCH, "invalid": msg.FIELD_NOT_TEXT, "invalid_utf8": msg.FIELD_NOT_TEXT,
                              "too_long": msg.FIELD_TOO_LONG}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 1024:
            raise self.make_error("too_long", max=1024)
        return text


class Email(fields.Email):
    default_error_messages = {**_FRENCH, "invalid": msg.EMAIL_INVALID}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if not value and self.required:
                raise self.make_error("required")
        if isinstance(value, str) and len(value) > 254:
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.lower() if isinstance(result, str) else result


class Day(fields.Date):
    default_error_messages = {**_FRENCH, "invalid": msg.DATE_INVALID, "format": msg.DATE_INVALID}

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)


class Flag(fields.Boolean):
    default_error_messages = {**_FRENCH, "invalid": msg.FIELD_NOT_BOOLEAN}


class Group(fields.Nested):
    default_error_messages = {**_FRENCH, "type": msg.FIELD_NOT_OBJECT}


class FrenchSchema(Schema):
    error_messages = {"unknown": msg.FIELD_UNKNOWN, "type": msg.INPUT_NOT_OBJECT}

    class Meta:
        unknown = RAISE


def _merge(errors: dict, path: tuple[str, ...], message: str) -> None:
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if isinstance(node, list):  # the nested field already failed as a whole; keep its errors
            return
    node.setdefault(path[-1], [])
    if isinstance(node[path[-1]], list) and message not in node[path[-1]]:
        node[path[-1]].append(message)


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------

class PhonesSchema(FrenchSchema):
    personal = Phone()  # « Téléphone personnel (ex. : 0102030405) », seed 002
    mobile = Phone(mobile=True)  # « Téléphone portable (ex. : 0606060605) », seed 002
    office = Phone()  # « Téléphone bureau (ex. : 0102030405) », seed 002


class AddressSchema(FrenchSchema):
    apartment = Text(max_length=38)  # « N° App - Etage - Couloir - Esc », seed 002
    building = Text(max_length=38)  # « Entrée - Batiment - Résidence », seed 002
    street_number = Text(max_length=10)  # « Numéro de voie », seed 002
    street_name = Text(max_length=100)  # « Libellé de la voie », seed 002
    lieu_dit = Text(max_length=38)  # « Lieu Dit ou Service », seed 002
    postal_code = Text(required=True, max_length=12)  # « Code Postal * », seed 002
    locality = Text(required=True, max_length=100)  # « Localité * », seed 002
    country = Text(load_default=FRANCE, max_length=60)  # « Pays », seed 002

    @validates_schema(skip_on_field_errors=False)
    def _address_rules(self, data, **kwargs):
        errors: dict = {}
        if not data.get("street_name") and not data.get("lieu_dit"):
            _merge(errors, ("street_name",), msg.STREET_OR_LIEU_DIT_REQUIRED)
        country = data.get("country") or FRANCE
        postal = data.get("postal_code")
        if postal and is_france(country):
            compact = postal.replace(" ", "")
            if not (len(compact) == 5 and compact.isdigit()):
                _merge(errors, ("postal_code",), msg.POSTAL_CODE_INVALID)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data, **kwargs):
        if is_france(data.get("country")):
            data["country"] = FRANCE
            if data.get("postal_code"):
                data["postal_code"] = data["postal_code"].replace(" ", "")
        return data


class RegistrationSchema(FrenchSchema):
    """The registration form (issue 4, seeds 002 and 004). Build one per town: ``RegistrationSchema(rules)``."""

    account_type = Choice(ACCOUNT_TYPES, error=msg.ACCOUNT_TYPE_INVALID, load_default="particulier")
    civility = Choice(CIVILITIES, error=msg.CIVILITY_INVALID, required=True)
    birth_name = Name(required=True)
    usage_name = Name()
    first_name = Name(required=True)
    second_first_name = Name()
    third_first_name = Name()
    birth_date = Day(required=True)
    birth_country = Text(max_length=60)
    birth_commune = Commune(max_length=100)
    birth_department = Text(max_length=3)
    email = Email(required=True, error_messages={"required": msg.EMAIL_NEEDED_NOTICE})
    phones = Group(PhonesSchema, load_default=dict)
    address = Group(AddressSchema, allow_none=True, load_default=None)
    organisation_name = Text(max_length=200)
    siret = Siret(max_length=20)
    rna = Rna(max_length=20)
    communication_preference = Choice(COMMUNICATION_MODES, error=msg.COMMUNICATION_INVALID, load_default="email")
    cgu_accepted = Flag(required=True, error_messages={"required": msg.CGU_REQUIRED, "null": msg.CGU_REQUIRED})
    security_question = Choice(tuple(msg.SECURITY_QUESTIONS), error=msg.SECURITY_QUESTION_UNKNOWN)
    security_answer = Text(max_length=100)
    captcha_id = Text(max_length=64)
    captcha_answer = Text(max_length=32)

    SECURITY_ANSWER_MIN_LENGTH = 2

    def __init__(self, rules: RegistrationRules | None = None, *, today: date | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rules = rules or RegistrationRules()
        self.today = today
        self._require("address", self.rules.address_required)
        self._require("birth_country", self.rules.birth_place_required)
        self._require("birth_commune", self.rules.birth_place_required)
        self._require("captcha_id", self.rules.captcha)
        self._require("captcha_answer", self.rules.captcha, message=msg.CAPTCHA_REQUIRED)

    def _require(self, name: str, required: bool, *, message: str | None = None) -> None:
        if not required:
            return
        f = self.fields[name]
        f.required = True
        f.allow_none = False
        f.load_default = missing
        if message:
            f.error_messages = {**f.error_messages, "required": message, "null": message}

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field_rules(self, data, original_data, **kwargs):
        if not isinstance(original_data, Mapping):
            return  # the whole input is refused already (INPUT_NOT_OBJECT)
        errors: dict = {}
        rules = self.rules

        def typed(*path: str) -> bool:
            """Did the citizen type something there (valid or not)?"""
            node = original_data
            for key in path:
                if not isinstance(node, Mapping) or key not in node:
                    return False
                node = node[key]
            return node is not None and not (isinstance(node, str) and not node.strip())
        today = self.today or date.today()

        if data.get("third_first_name") and not data.get("second_first_name"):
            _merge(errors, ("third_first_name",), msg.THIRD_NAME_WITHOUT_SECOND)

        birth_date = data.get("birth_date")
        if birth_date is not None:
            if birth_date > today:
                _merge(errors, ("birth_date",), msg.BIRTH_DATE_IN_FUTURE)
            elif (today.year - birth_date.year) > MAX_AGE_YEARS:
                _merge(errors, ("birth_date",), msg.BIRTH_DATE_TOO_OLD)

        country = data.get("birth_country")
        department = data.get("birth_department")
        if is_france(country) and (country or rules.birth_place_required):
            if not department:
                if rules.birth_place_required and not typed("birth_department"):
                    _merge(errors, ("birth_department",), msg.FIELD_REQUIRED)
            elif not _DEPARTMENT.match(department.upper()):
                _merge(errors, ("birth_department",), msg.BIRTH_DEPARTMENT_INVALID)

        phones_typed = {kind for kind in PHONE_KINDS if typed("phones", kind)}
        phones_block_ok = "phones" not in original_data or isinstance(original_data.get("phones") or {}, Mapping)
        if phones_block_ok:
            if rules.phones_required == "at_least_one" and not phones_typed:
                _merge(errors, ("phones",), msg.PHONES_AT_LEAST_ONE)
            for kind in rules.required_phone_kinds:
                if kind not in phones_typed:
                    label = msg.FIELD_LABELS[f"phones.{kind}"]
                    _merge(errors, ("phones", kind), msg.PHONE_KIND_REQUIRED.format(label=label))
            preference = data.get("communication_preference")
            if preference == "sms" and "mobile" not in phones_typed:
                _merge(errors, ("phones", "mobile"), msg.SMS_NEEDS_MOBILE)
            if preference == "phone" and not phones_typed:
                _merge(errors, ("communication_preference",), msg.PHONE_PREFERENCE_NEEDS_PHONE)

        account_type = data.get("account_type")
        if account_type == "professionnel" and not typed("siret"):
            _merge(errors, ("siret",), msg.SIRET_REQUIRED)
        if account_type == "particulier" and typed("siret"):
            _merge(errors, ("siret",), msg.SIRET_ONLY_PRO)
        if account_type == "association" and not typed("rna"):
            _merge(errors, ("rna",), msg.RNA_REQUIRED)
        if account_type in ("particulier", "professionnel") and typed("rna"):
            _merge(errors, ("rna",), msg.RNA_ONLY_ASSOCIATION)

        if "cgu_accepted" in data and data["cgu_accepted"] is not True:
            _merge(errors, ("cgu_accepted",), msg.CGU_REQUIRED)

        answer = data.get("security_answer")
        mode = rules.security_question
        if mode == "off":
            for name in ("security_question", "security_answer"):
                if typed(name):
                    _merge(errors, (name,), msg.SECURITY_QUESTION_OFF)
        else:
            q_typed, a_typed = typed("security_question"), typed("security_answer")
            if mode == "required" or q_typed or a_typed:
                if not q_typed:
                    _merge(errors, ("security_question",), msg.SECURITY_QUESTION_REQUIRED)
                if not a_typed:
                    _merge(errors, ("security_answer",), msg.SECURITY_QUESTION_REQUIRED)
            if answer and len(answer) < self.SECURITY_ANSWER_MIN_LENGTH:
                _merge(errors, ("security_answer",),
                       msg.SECURITY_ANSWER_TOO_SHORT.format(min=self.SECURITY_ANSWER_MIN_LENGTH))

        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data, **kwargs):
        if data.get("birth_country") and is_france(data["birth_country"]):
            data["birth_country"] = FRANCE
        if data.get("birth_department"):
            data["birth_department"] = data["birth_department"].upper()
        return data


# --------------------------------------------------------------------------
# Activation (seed 004 §2.1), password change, login
# --------------------------------------------------------------------------

class ActivationSchema(FrenchSchema):
    """« Votre identifiant de connexion * », « Mot de passe * », « Répéter votre mot de passe * » (seed 004).

    ``email`` is the account's email, so that the password may not contain it.
    Whether the login is free is the service's question (it needs the database).
    """

    login = Text(required=True, max_length=200)
    password = Secret(required=True)
    password_confirmation = Secret(required=True)

    def __init__(self, *, email: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.email = email

    @post_load
    def _normalise(self, data, **kwargs):
        data["login"] = normalise_login(data["login"])
        return data

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **kwargs):
        errors: dict = {}
        login = data.get("login")
        if login:
            problems = check_login(login)
            for problem in problems:
                _merge(errors, ("login",), problem)
        password = data.get("password")
        if password is not None:
            for problem in check_password(password, login=login, email=self.email):
                _merge(errors, ("password",), problem)
            confirmation = data.get("password_confirmation")
            if confirmation is not None:
                for problem in check_password_confirmation(password, confirmation):
                    _merge(errors, ("password_confirmation",), problem)
        if errors:
            raise ValidationError(errors)


class PasswordChangeSchema(FrenchSchema):
    """Change of password by a logged-in citizen (checking ``current_password`` is the service's job)."""

    current_password = Secret(required=True)
    new_password = Secret(required=True)
    new_password_confirmation = Secret(required=True)

    def __init__(self, *, login: str | None = None, email: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.login = login
        self.email = email

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **kwargs):
        errors: dict = {}
        password = data.get("new_password")
        if password is not None:
            for problem in check_password(password, login=self.login, email=self.email):
                _merge(errors, ("new_password",), problem)
            confirmation = data.get("new_password_confirmation")
            if confirmation is not None:
                for problem in check_password_confirmation(password, confirmation):
                    _merge(errors, ("new_password_confirmation",), problem)
        if errors:
            raise ValidationError(errors)


class LoginSchema(FrenchSchema):
    """« Identifiant » (a login or an email) and « Mot de passe » (seeds 000, 004); ``totp_code`` for agents."""

    identifier = Text(required=True, max_length=254)
    password = Secret(required=True)
    totp_code = Text(max_length=10)
