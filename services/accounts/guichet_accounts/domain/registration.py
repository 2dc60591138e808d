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

from marshmallow import ValidationError, missing, post_load, validates_schema

from guichet_contracts.api import accounts as api
from guichet_contracts.fields import (
    Group,
    add_error,
)
from guichet_contracts.identifiers import PHONE_KINDS

from ..exceptions import AccountNotValidated
from . import messages as msg
from .logins import remove_accents

PHONE_POLICIES = ("none", "at_least_one")
SECURITY_QUESTION_MODES = ("off", "optional", "required")
ACCOUNT_TYPES = tuple(msg.ACCOUNT_TYPES)
CIVILITIES = tuple(msg.CIVILITIES)
COMMUNICATION_MODES = tuple(msg.COMMUNICATION_MODES)
MAX_AGE_YEARS = 130
SECURITY_ANSWER_MIN_LENGTH = 2
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
# Places
# --------------------------------------------------------------------------

_DEPARTMENT = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-8]|98[4-9])$")


def is_france(country: str | None) -> bool:
    if not country:
        return True
    return remove_accents(country).strip().lower() in _FRANCE_NAMES


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------

# The fields of the forms are the accounts API contract's (the gateway documents them); the rules are here.
PhonesSchema = api.Phones


class AddressSchema(api.Address):
    """An address: a street or a lieu-dit, a French postal code of 5 digits (« France » by default)."""

    @validates_schema(skip_on_field_errors=False)
    def _address_rules(self, data, **kwargs):
        errors: dict = {}
        if not data.get("street_name") and not data.get("lieu_dit"):
            add_error(errors, ("street_name",), msg.STREET_OR_LIEU_DIT_REQUIRED)
        country = data.get("country") or FRANCE
        postal = data.get("postal_code")
        if postal and is_france(country):
            compact = postal.replace(" ", "")
            if not (len(compact) == 5 and compact.isdigit()):
                add_error(errors, ("postal_code",), msg.POSTAL_CODE_INVALID)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data, **kwargs):
        if is_france(data.get("country")):
            data["country"] = FRANCE
            if data.get("postal_code"):
                data["postal_code"] = data["postal_code"].replace(" ", "")
        return data


class RegistrationSchema(api.Registration):
    """The registration form (issue 4, seeds 002 and 004). Build one per town: ``RegistrationSchema(rules)``."""

    address = Group(AddressSchema, allow_none=True, load_default=None)

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
        if not required or name not in self.fields:  # a partial form (only=...) has not every field
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
        form = _Form(data, original_data, self.rules, self.today or date.today())
        for rule in (_names_rule, _birth_date_rule, _birth_place_rules, _phone_rules, _organisation_rules,
                     _cgu_rule, _security_question_rules):
            rule(form)
        if form.errors:
            raise ValidationError(form.errors)

    @post_load
    def _normalise(self, data, **kwargs):
        if data.get("birth_country") and is_france(data["birth_country"]):
            data["birth_country"] = FRANCE
        if data.get("birth_department"):
            data["birth_department"] = data["birth_department"].upper()
        return data


# --------------------------------------------------------------------------
# The registration form's cross-field rules, each adding its messages to the form's errors
# --------------------------------------------------------------------------

class _Form:
    """The values loaded, what the citizen typed, the town's rules, and the errors found so far."""

    def __init__(self, data: dict, original: Mapping, rules: RegistrationRules, today: date):
        self.data = data
        self.original = original
        self.rules = rules
        self.today = today
        self.errors: dict = {}

    def typed(self, *path: str) -> bool:
        """Did the citizen type something there (valid or not)?"""
        node = self.original
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return False
            node = node[key]
        return node is not None and not (isinstance(node, str) and not node.strip())

    def error(self, path: tuple[str, ...], message: str) -> None:
        add_error(self.errors, path, message)


def _names_rule(form: _Form) -> None:
    if form.data.get("third_first_name") and not form.data.get("second_first_name"):
        form.error(("third_first_name",), msg.THIRD_NAME_WITHOUT_SECOND)


def _birth_date_rule(form: _Form) -> None:
    birth_date = form.data.get("birth_date")
    if birth_date is None:
        return
    if birth_date > form.today:
        form.error(("birth_date",), msg.BIRTH_DATE_IN_FUTURE)
    elif (form.today.year - birth_date.year) > MAX_AGE_YEARS:
        form.error(("birth_date",), msg.BIRTH_DATE_TOO_OLD)


def _birth_place_rules(form: _Form) -> None:
    """The department is asked for a birth in France only."""
    country, department = form.data.get("birth_country"), form.data.get("birth_department")
    if not (is_france(country) and (country or form.rules.birth_place_required)):
        return
    if not department:
        if form.rules.birth_place_required and not form.typed("birth_department"):
            form.error(("birth_department",), msg.FIELD_REQUIRED)
    elif not _DEPARTMENT.match(department.upper()):
        form.error(("birth_department",), msg.BIRTH_DEPARTMENT_INVALID)


def _phone_rules(form: _Form) -> None:
    if "phones" in form.original and not isinstance(form.original.get("phones") or {}, Mapping):
        return  # the phones block is refused as a whole already
    phones_typed = {kind for kind in PHONE_KINDS if form.typed("phones", kind)}
    if form.rules.phones_required == "at_least_one" and not phones_typed:
        form.error(("phones",), msg.PHONES_AT_LEAST_ONE)
    for kind in form.rules.required_phone_kinds:
        if kind not in phones_typed:
            label = msg.FIELD_LABELS[f"phones.{kind}"]
            form.error(("phones", kind), msg.PHONE_KIND_REQUIRED.format(label=label))
    preference = form.data.get("communication_preference")
    if preference == "sms" and "mobile" not in phones_typed:
        form.error(("phones", "mobile"), msg.SMS_NEEDS_MOBILE)
    if preference == "phone" and not phones_typed:
        form.error(("communication_preference",), msg.PHONE_PREFERENCE_NEEDS_PHONE)


def _organisation_rules(form: _Form) -> None:
    """A professional gives a SIRET, an association its RNA (and may give a SIRET)."""
    account_type = form.data.get("account_type")
    if account_type == "professionnel" and not form.typed("siret"):
        form.error(("siret",), msg.SIRET_REQUIRED)
    if account_type == "particulier" and form.typed("siret"):
        form.error(("siret",), msg.SIRET_ONLY_PRO)
    if account_type == "association" and not form.typed("rna"):
        form.error(("rna",), msg.RNA_REQUIRED)
    if account_type in ("particulier", "professionnel") and form.typed("rna"):
        form.error(("rna",), msg.RNA_ONLY_ASSOCIATION)


def _cgu_rule(form: _Form) -> None:
    if "cgu_accepted" in form.data and form.data["cgu_accepted"] is not True:
        form.error(("cgu_accepted",), msg.CGU_REQUIRED)


def _security_question_rules(form: _Form) -> None:
    mode = form.rules.security_question
    if mode == "off":
        for name in ("security_question", "security_answer"):
            if form.typed(name):
                form.error((name,), msg.SECURITY_QUESTION_OFF)
        return
    question_typed, answer_typed = form.typed("security_question"), form.typed("security_answer")
    if mode == "required" or question_typed or answer_typed:
        if not question_typed:
            form.error(("security_question",), msg.SECURITY_QUESTION_REQUIRED)
        if not answer_typed:
            form.error(("security_answer",), msg.SECURITY_QUESTION_REQUIRED)
    answer = form.data.get("security_answer")
    if answer and len(answer) < SECURITY_ANSWER_MIN_LENGTH:
        form.error(("security_answer",), msg.SECURITY_ANSWER_TOO_SHORT.format(min=SECURITY_ANSWER_MIN_LENGTH))
