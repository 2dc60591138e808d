import dataclasses
from datetime import date

import pytest
from marshmallow import ValidationError

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.password_forms import ActivationSchema, LoginSchema, PasswordChangeSchema
from guichet_accounts.domain.registration import (
    ACTIVE,
    AWAITING_VALIDATION,
    RegistrationRules,
    RegistrationSchema,
    ensure_can_modify_account,
    status_after_activation,
)
from guichet_accounts.exceptions import AccountNotValidated

TODAY = date(2026, 11, 25)


def pascal(**changes):
    """Seed 004's example registration (Pascal Dupin), completed with seed 002's fields."""
    data = {
        "civility": "monsieur",
        "birth_name": "Dupin",
        "first_name": "Pascal",
        "birth_date": "1988-03-04",
        "birth_country": "France",
        "birth_commune": "LYON 02",
        "birth_department": "69",
        "email": "dupin@yopmail.com",
        "phones": {"personal": "0102030405"},
        "address": {"street_number": "17", "street_name": "Grand' Place", "postal_code": "59100",
                    "locality": "Roubaix"},
        "cgu_accepted": True,
        "captcha_id": "c-1",
        "captcha_answer": "xKe1S",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def load(data, rules=None):
    return RegistrationSchema(rules, today=TODAY).load(data)


def errors(data, rules=None):
    with pytest.raises(ValidationError) as caught:
        load(data, rules)
    return caught.value.messages


def test_seed_example_loads_and_is_normalised():
    result = load(pascal(email="  Dupin@YOPmail.com ", phones={"mobile": "06 06 06 06 05"}))
    assert result["birth_date"] == date(1988, 3, 4)
    assert result["email"] == "dupin@yopmail.com"
    assert result["phones"] == {"personal": None, "mobile": "+33606060605", "office": None}
    assert result["account_type"] == "particulier"
    assert result["communication_preference"] == "email"
    assert result["address"]["country"] == "France"
    assert result["usage_name"] is None and result["second_first_name"] is None


def test_optional_names():
    result = load(pascal(usage_name="Martin", second_first_name="Jean-Marie", third_first_name="Hervé"))
    assert (result["usage_name"], result["second_first_name"], result["third_first_name"]) == (
        "Martin", "Jean-Marie", "Hervé")
    assert errors(pascal(third_first_name="Hervé")) == {"third_first_name": [msg.THIRD_NAME_WITHOUT_SECOND]}


def test_empty_form_lists_every_required_field_in_french():
    problems = errors({})
    for name in ("civility", "birth_name", "first_name", "birth_date", "birth_country", "birth_commune",
                 "birth_department", "address", "captcha_id"):
        assert problems[name] == [msg.FIELD_REQUIRED], name
    assert problems["email"] == [msg.EMAIL_NEEDED_NOTICE]
    assert problems["cgu_accepted"] == [msg.CGU_REQUIRED]
    assert problems["captcha_answer"] == [msg.CAPTCHA_REQUIRED]
    assert problems["phones"] == [msg.PHONES_AT_LEAST_ONE]


def test_blank_strings_count_as_missing():
    assert errors(pascal(birth_name="   "))["birth_name"] == [msg.FIELD_REQUIRED]


def test_unknown_fields_and_non_objects():
    assert errors(pascal(nickname="Pas")) == {"nickname": [msg.FIELD_UNKNOWN]}
    assert errors([]) == {"_schema": [msg.INPUT_NOT_OBJECT]}


def test_wrong_types_in_french():
    problems = errors(pascal(birth_name=12, cgu_accepted="peut-être"))
    assert problems["birth_name"] == [msg.FIELD_NOT_TEXT]
    assert problems["cgu_accepted"] == [msg.FIELD_NOT_BOOLEAN]


def test_civility():
    assert load(pascal(civility="madame"))["civility"] == "madame"
    assert errors(pascal(civility="docteur")) == {"civility": [msg.CIVILITY_INVALID]}


def test_names_refuse_digits_and_symbols():
    assert errors(pascal(birth_name="Dup1n")) == {"birth_name": [msg.NAME_INVALID]}
    assert errors(pascal(first_name="Pascal!")) == {"first_name": [msg.NAME_INVALID]}
    assert load(pascal(birth_name="D'Artagnan-Lefèvre"))["birth_name"] == "D'Artagnan-Lefèvre"
    assert load(pascal(birth_name="  de   la  Fontaine "))["birth_name"] == "de la Fontaine"


def test_too_long():
    assert errors(pascal(birth_name="A" * 101)) == {"birth_name": [msg.FIELD_TOO_LONG.format(max=100)]}


@pytest.mark.parametrize("value, message", [
    ("2030-01-01", msg.BIRTH_DATE_IN_FUTURE),
    ("1850-01-01", msg.BIRTH_DATE_TOO_OLD),
    ("04/03/1988", msg.DATE_INVALID),
    ("1988-02-30", msg.DATE_INVALID),
])
def test_birth_date_must_be_plausible(value, message):
    assert errors(pascal(birth_date=value)) == {"birth_date": [message]}


def test_birth_department():
    assert load(pascal(birth_department="2a"))["birth_department"] == "2A"
    assert load(pascal(birth_department="974"))["birth_department"] == "974"
    assert errors(pascal(birth_department="99")) == {"birth_department": [msg.BIRTH_DEPARTMENT_INVALID]}
    assert errors(pascal(birth_department=...)) == {"birth_department": [msg.FIELD_REQUIRED]}


def test_birth_abroad_needs_no_department():
    result = load(pascal(birth_country="Belgique", birth_commune="Mouscron", birth_department=...))
    assert result["birth_department"] is None


def test_birth_place_not_asked_by_the_town():
    rules = RegistrationRules(birth_place_required=False)
    result = load(pascal(birth_country=..., birth_commune=..., birth_department=...), rules)
    assert result["birth_country"] is None


def test_email():
    assert errors(pascal(email="dupin@")) == {"email": [msg.EMAIL_INVALID]}
    assert "jacques.dupond@test.fr" in msg.EMAIL_INVALID


def test_phones_are_normalised_and_checked():
    result = load(pascal(phones={"personal": "01 02 03 04 05", "mobile": "+33 6 12 34 56 78",
                                 "office": "03.20.65.46.00"}))
    assert result["phones"] == {"personal": "+33102030405", "mobile": "+33612345678", "office": "+33320654600"}
    assert errors(pascal(phones={"personal": "123"})) == {"phones": {"personal": [msg.PHONE_INVALID]}}
    assert errors(pascal(phones={"mobile": "0102030405"})) == {"phones": {"mobile": [msg.MOBILE_INVALID]}}
    assert errors(pascal(phones={"fax": "0102030405", "office": "0102030405"})) == {
        "phones": {"fax": [msg.FIELD_UNKNOWN]}}
    # an unknown kind does not count as a phone: both problems are reported
    assert errors(pascal(phones={"fax": "0102030405"})) == {
        "phones": {"fax": [msg.FIELD_UNKNOWN], "_schema": [msg.PHONES_AT_LEAST_ONE]}}


def test_at_least_one_phone_by_default():
    assert errors(pascal(phones={})) == {"phones": [msg.PHONES_AT_LEAST_ONE]}
    assert errors(pascal(phones=...)) == {"phones": [msg.PHONES_AT_LEAST_ONE]}
    assert errors(pascal(phones={"personal": "  "})) == {"phones": [msg.PHONES_AT_LEAST_ONE]}


def test_an_invalid_phone_is_not_also_missing():
    assert errors(pascal(phones={"office": "12"})) == {"phones": {"office": [msg.PHONE_INVALID]}}


def test_no_phone_needed_when_the_town_says_none():
    result = load(pascal(phones=...), RegistrationRules(phones_required="none"))
    assert result["phones"] == {}


def test_required_phone_kinds():
    rules = RegistrationRules(phones_required=["mobile", "office"])
    assert rules.phones_required == ("mobile", "office")
    problems = errors(pascal(), rules)
    assert problems == {"phones": {
        "mobile": [msg.PHONE_KIND_REQUIRED.format(label="Téléphone portable")],
        "office": [msg.PHONE_KIND_REQUIRED.format(label="Téléphone bureau")],
    }}


def test_sms_needs_a_mobile_phone():
    assert errors(pascal(communication_preference="sms")) == {"phones": {"mobile": [msg.SMS_NEEDS_MOBILE]}}
    assert load(pascal(communication_preference="sms", phones={"mobile": "0606060605"}))[
        "communication_preference"] == "sms"


def test_phone_preference_needs_a_phone():
    rules = RegistrationRules(phones_required="none")
    assert errors(pascal(phones=..., communication_preference="phone"), rules) == {
        "communication_preference": [msg.PHONE_PREFERENCE_NEEDS_PHONE]}
    assert errors(pascal(communication_preference="pigeon")) == {
        "communication_preference": [msg.COMMUNICATION_INVALID]}


def test_address():
    result = load(pascal(address={"apartment": "Apt 3 - 2e étage", "building": "Résidence Les Tilleuls",
                                  "street_number": "12 bis", "street_name": "rue du Capitaine Bozambo",
                                  "postal_code": "26 100", "locality": "Romans-sur-Isère", "country": "france"}))
    assert result["address"]["postal_code"] == "26100"
    assert result["address"]["country"] == "France"


def test_address_postal_code_and_street_or_lieu_dit():
    problems = errors(pascal(address={"postal_code": "5910", "locality": "Roubaix"}))
    assert problems == {"address": {"postal_code": [msg.POSTAL_CODE_INVALID],
                                    "street_name": [msg.STREET_OR_LIEU_DIT_REQUIRED]}}
    rural = load(pascal(address={"lieu_dit": "Les Hauts de Manapany", "postal_code": "97480",
                                 "locality": "Saint-Joseph"}))
    assert rural["address"]["street_name"] is None
    abroad = load(pascal(address={"street_name": "Rue de Tournai", "postal_code": "B-7700",
                                  "locality": "Mouscron", "country": "Belgique"}))
    assert abroad["address"]["postal_code"] == "B-7700"


def test_address_missing_parts():
    problems = errors(pascal(address={}))
    assert problems["address"]["postal_code"] == [msg.FIELD_REQUIRED]
    assert problems["address"]["locality"] == [msg.FIELD_REQUIRED]


def test_address_not_asked_by_the_town():
    assert load(pascal(address=...), RegistrationRules(address_required=False))["address"] is None


def test_professional_account_needs_a_valid_siret():
    assert errors(pascal(account_type="professionnel")) == {"siret": [msg.SIRET_REQUIRED]}
    assert errors(pascal(account_type="professionnel", siret="73282932000075")) == {"siret": [msg.SIRET_CHECKSUM]}
    assert errors(pascal(account_type="professionnel", siret="1234")) == {"siret": [msg.SIRET_INVALID]}
    result = load(pascal(account_type="professionnel", siret="732 829 320 00074", organisation_name="ACME"))
    assert result["siret"] == "73282932000074"


def test_association_needs_an_rna():
    assert errors(pascal(account_type="association")) == {"rna": [msg.RNA_REQUIRED]}
    assert errors(pascal(account_type="association", rna="W12")) == {"rna": [msg.RNA_INVALID]}
    result = load(pascal(account_type="association", rna="w591234567", siret="73282932000074"))
    assert result["rna"] == "W591234567" and result["siret"] == "73282932000074"


def test_identifiers_only_where_they_belong():
    assert errors(pascal(siret="73282932000074")) == {"siret": [msg.SIRET_ONLY_PRO]}
    assert errors(pascal(account_type="professionnel", siret="73282932000074", rna="W591234567")) == {
        "rna": [msg.RNA_ONLY_ASSOCIATION]}
    assert errors(pascal(account_type="entreprise")) == {"account_type": [msg.ACCOUNT_TYPE_INVALID]}


def test_cgu_must_be_accepted():
    assert errors(pascal(cgu_accepted=False)) == {"cgu_accepted": [msg.CGU_REQUIRED]}
    assert errors(pascal(cgu_accepted=None)) == {"cgu_accepted": [msg.CGU_REQUIRED]}


def test_security_question_optional_by_default():
    assert load(pascal())["security_question"] is None
    result = load(pascal(security_question="first_pet", security_answer="Médor"))
    assert result["security_question"] == "first_pet" and result["security_answer"] == "Médor"
    assert errors(pascal(security_question="first_pet")) == {
        "security_answer": [msg.SECURITY_QUESTION_REQUIRED]}
    assert errors(pascal(security_answer="Médor")) == {"security_question": [msg.SECURITY_QUESTION_REQUIRED]}
    assert errors(pascal(security_question="favourite_colour", security_answer="bleu")) == {
        "security_question": [msg.SECURITY_QUESTION_UNKNOWN]}


def test_security_question_required_like_saint_joseph():
    rules = RegistrationRules(security_question="required")
    assert errors(pascal(), rules) == {"security_question": [msg.SECURITY_QUESTION_REQUIRED],
                                       "security_answer": [msg.SECURITY_QUESTION_REQUIRED]}
    assert errors(pascal(security_question="first_pet", security_answer="M"), rules) == {
        "security_answer": [msg.SECURITY_ANSWER_TOO_SHORT.format(min=2)]}


def test_security_question_off_like_quievrechain():
    rules = RegistrationRules(security_question="off")
    assert errors(pascal(security_question="first_pet", security_answer="Médor"), rules) == {
        "security_question": [msg.SECURITY_QUESTION_OFF], "security_answer": [msg.SECURITY_QUESTION_OFF]}


def test_captcha_fields_required_only_when_the_town_uses_one():
    assert errors(pascal(captcha_answer=...)) == {"captcha_answer": [msg.CAPTCHA_REQUIRED]}
    assert errors(pascal(captcha_answer="")) == {"captcha_answer": [msg.CAPTCHA_REQUIRED]}
    result = load(pascal(captcha_id=..., captcha_answer=...), RegistrationRules(captcha=False))
    assert result["captcha_answer"] is None


def test_every_problem_is_reported_at_once():
    problems = errors(pascal(civility="x", birth_date="2999-01-01", phones={}, cgu_accepted=False,
                             account_type="professionnel"))
    assert set(problems) == {"civility", "birth_date", "phones", "cgu_accepted", "siret"}


def test_quievrechain_like_town():
    """Seed 004: identity and email only, no phone, no address, no question."""
    rules = RegistrationRules(phones_required="none", security_question="off", address_required=False)
    data = {"civility": "monsieur", "birth_name": "Dupin", "first_name": "Pascal", "birth_date": "1988-03-04",
            "birth_country": "France", "birth_commune": "LYON 02", "birth_department": "69",
            "email": "dupin@yopmail.com", "cgu_accepted": True, "captcha_id": "c", "captcha_answer": "xKe1S"}
    assert load(data, rules)["first_name"] == "Pascal"


def test_saint_joseph_like_town():
    """Seed 002: no birth place, an address, at least one phone, a required question."""
    rules = RegistrationRules(birth_place_required=False, security_question="required")
    data = {"civility": "madame", "birth_name": "Payet", "first_name": "Marie", "birth_date": "1975-06-01",
            "email": "jacques.dupond@test.fr", "phones": {"mobile": "0692 12 34 56"},
            "address": {"street_name": "Rue Raphaël Babet", "postal_code": "97480", "locality": "Saint-Joseph"},
            "security_question": "primary_school", "security_answer": "Jules Ferry", "cgu_accepted": True,
            "captcha_id": "c", "captcha_answer": "P5m288"}
    assert load(data, rules)["phones"]["mobile"] == "+262692123456"


# ---------------------------------------------------------------- town rules

def test_rules_defaults_follow_the_seeds():
    rules = RegistrationRules()
    assert rules.phones_required == "at_least_one"
    assert rules.security_question == "optional"
    assert rules.validation_by_town is False
    assert rules.captcha is True
    assert rules.address_required is True and rules.birth_place_required is True


@pytest.mark.parametrize("settings", [
    {"phones_required": "some"}, {"phones_required": ["fax"]}, {"phones_required": []},
    {"security_question": "maybe"}, {"captcha": "yes"}, {"colour": "blue"},
])
def test_rules_refuse_bad_settings_clearly(settings):
    with pytest.raises(ValueError):
        RegistrationRules.from_mapping(settings)


def test_rules_from_mapping():
    rules = RegistrationRules.from_mapping({"phones_required": ["mobile"], "validation_by_town": True})
    assert rules.required_phone_kinds == ("mobile",)
    assert RegistrationRules.from_mapping(None) == RegistrationRules()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.captcha = False  # frozen


def test_validation_by_the_town():
    assert status_after_activation(RegistrationRules()) == ACTIVE
    assert status_after_activation(RegistrationRules(validation_by_town=True)) == AWAITING_VALIDATION
    ensure_can_modify_account(ACTIVE)
    with pytest.raises(AccountNotValidated) as refusal:
        ensure_can_modify_account(AWAITING_VALIDATION)
    assert str(refusal.value) == msg.ACCOUNT_NOT_VALIDATED
    assert "tant que celui-ci ne sera pas validé" in str(refusal.value)


# ---------------------------------------------------------------- activation, password change, login

def test_activation_with_the_default_login():
    result = ActivationSchema(email="dupin@yopmail.com").load(
        {"login": " Pascal.Dupin ", "password": "Xk8#mq2Lp", "password_confirmation": "Xk8#mq2Lp"})
    assert result["login"] == "pascal.dupin"


def test_activation_errors_in_french():
    with pytest.raises(ValidationError) as caught:
        ActivationSchema(email="dupin@yopmail.com").load(
            {"login": "pd", "password": "dupin", "password_confirmation": "dupon"})
    problems = caught.value.messages
    assert problems["login"] == [msg.LOGIN_TOO_SHORT.format(min=3)]
    assert problems["password"] == [msg.PASSWORD_TOO_SHORT, msg.PASSWORD_NEEDS_UPPER, msg.PASSWORD_NEEDS_DIGIT,
                                    msg.PASSWORD_CONTAINS_EMAIL]
    assert problems["password_confirmation"] == [msg.PASSWORD_CONFIRMATION_MISMATCH]


def test_activation_password_may_not_contain_the_login():
    with pytest.raises(ValidationError) as caught:
        ActivationSchema().load({"login": "pascal.dupin", "password": "Pascal#1988",
                                 "password_confirmation": "Pascal#1988"})
    assert caught.value.messages == {"password": [msg.PASSWORD_CONTAINS_LOGIN]}


def test_activation_missing_fields():
    with pytest.raises(ValidationError) as caught:
        ActivationSchema().load({})
    assert caught.value.messages == {"login": [msg.FIELD_REQUIRED], "password": [msg.FIELD_REQUIRED],
                                     "password_confirmation": [msg.FIELD_REQUIRED]}


def test_password_change():
    schema = PasswordChangeSchema(login="pascal.dupin", email="dupin@yopmail.com")
    assert schema.load({"current_password": "old", "new_password": "Xk8#mq2Lp",
                        "new_password_confirmation": "Xk8#mq2Lp"})["new_password"] == "Xk8#mq2Lp"
    with pytest.raises(ValidationError) as caught:
        schema.load({"current_password": "old", "new_password": "Azerty123", "new_password_confirmation": "x"})
    assert caught.value.messages == {"new_password": [msg.PASSWORD_TOO_COMMON],
                                     "new_password_confirmation": [msg.PASSWORD_CONFIRMATION_MISMATCH]}


def test_login_schema():
    assert LoginSchema().load({"identifier": " dupin@yopmail.com ", "password": "x"})["identifier"] == (
        "dupin@yopmail.com")
    with pytest.raises(ValidationError) as caught:
        LoginSchema().load({})
    assert caught.value.messages == {"identifier": [msg.FIELD_REQUIRED], "password": [msg.FIELD_REQUIRED]}


# ---------------------------------------------------------------- no English leaks

ENGLISH = ("Missing data", "Not a valid", "Unknown field", "Invalid value", "may not be null", "Invalid input",
           "Longer than", "Must be", "cannot be formatted")


def _all_messages(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _all_messages(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _all_messages(value)
    else:
        yield str(messages)


@pytest.mark.parametrize("garbage", [None, 12, 3.5, True, [], {}, ["x"], {"a": 1}, "", "x" * 5000])
def test_no_field_answers_in_english(garbage):
    schemas = [RegistrationSchema(today=TODAY), ActivationSchema(), PasswordChangeSchema(), LoginSchema()]
    for schema in schemas:
        payload = {name: garbage for name in schema.fields}
        with pytest.raises(ValidationError) as caught:
            schema.load(payload)
        for text in _all_messages(caught.value.messages):
            assert not any(e in text for e in ENGLISH), (type(schema).__name__, garbage, text)
