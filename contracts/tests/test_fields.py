"""The French field kit: what each field accepts, what it answers, and its messages."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
import pytest
from marshmallow import fields, validate

from guichet_contracts import french_messages as msg
from guichet_contracts.fields import (
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
    add_error,
)
from guichet_contracts.identifiers import national_format, normalise_phone


def errors_of(schema: ma.Schema, data) -> dict:
    with pytest.raises(ma.ValidationError) as caught:
        schema.load(data)
    assert isinstance(caught.value.messages, dict)
    return caught.value.messages


class Address(FrenchSchema):
    locality = Text(required=True)
    postal_code = Text(max_length=5)


class Form(FrenchSchema):
    name = Name(required=True)
    commune = Commune()
    civility = Choice(("monsieur", "madame"), error="Choisissez une civilité.")
    email = Email()
    mobile = Phone(mobile=True)
    phone = Phone()
    siret = Siret()
    rna = Rna(error="RNA du service.")
    password = Secret()
    birth_date = Day(allow_none=True, load_default=None)
    accepted = Flag()
    children = Integer()
    website = Url()
    address = Group(Address, allow_none=True, load_default=None)
    code = fields.String(validate=validate.Length(equal=5))


def test_text_is_stripped_collapsed_and_blank_is_none_or_missing():
    assert Form().load({"name": "  Jean   Pierre  ", "commune": "   "}) == {
        "name": "Jean Pierre", "commune": None, "civility": None, "mobile": None, "phone": None,
        "siret": None, "rna": None, "birth_date": None, "children": None, "website": None, "address": None}
    assert errors_of(Form(), {"name": "   "}) == {"name": [msg.FIELD_REQUIRED]}
    assert errors_of(Form(), {}) == {"name": [msg.FIELD_REQUIRED]}
    assert errors_of(Form(), {"name": None}) == {"name": [msg.FIELD_NULL]}
    assert errors_of(Form(), {"name": 12}) == {"name": [msg.FIELD_NOT_TEXT]}


def test_text_length_is_checked_after_stripping_and_documented():
    class Short(FrenchSchema):
        word = Text(max_length=3)

    assert Short().load({"word": "  abc  "}) == {"word": "abc"}
    assert errors_of(Short(), {"word": "abcd"}) == {"word": ["Ce champ ne doit pas dépasser 3 caractères."]}
    assert Short().fields["word"].metadata["maxLength"] == 3


def test_names_and_communes():
    assert Form().load({"name": "D'Artagnan-Éloïse"})["name"] == "D'Artagnan-Éloïse"
    assert errors_of(Form(), {"name": "R2D2"}) == {"name": [msg.NAME_INVALID]}
    assert Form().load({"name": "A", "commune": "LYON 02"})["commune"] == "LYON 02"
    assert errors_of(Form(), {"name": "A", "commune": "Lyon_2"}) == {"commune": [msg.NAME_INVALID]}


def test_choice_takes_the_services_message_and_documents_its_values():
    assert Form().load({"name": "A", "civility": " madame "})["civility"] == "madame"
    assert errors_of(Form(), {"name": "A", "civility": "docteur"}) == {"civility": ["Choisissez une civilité."]}
    assert Form().fields["civility"].metadata["enum"] == ["monsieur", "madame"]


def test_email_is_lower_cased_and_checked():
    assert Form().load({"name": "A", "email": " Jacques.Dupond@Test.FR "})["email"] == "jacques.dupond@test.fr"
    assert errors_of(Form(), {"name": "A", "email": "jacques"}) == {"email": [msg.EMAIL_INVALID]}
    assert errors_of(Form(), {"name": "A", "email": "a" * 250 + "@b.fr"}) == {"email": [msg.EMAIL_INVALID]}


def test_phones_are_answered_in_e164():
    loaded = Form().load({"name": "A", "mobile": "06 06 06 06 05", "phone": "+33 (0)1 02 03 04 05"})
    assert (loaded["mobile"], loaded["phone"]) == ("+33606060605", "+33102030405")
    assert normalise_phone("0262 12 34 56") == "+262262123456"
    assert national_format("+33102030405") == "01 02 03 04 05"
    assert errors_of(Form(), {"name": "A", "mobile": "01 02 03 04 05"}) == {"mobile": [msg.MOBILE_INVALID]}
    assert errors_of(Form(), {"name": "A", "phone": "12"}) == {"phone": [msg.PHONE_INVALID]}


def test_siret_and_rna():
    assert Form().load({"name": "A", "siret": "356 000 000 00048"})["siret"] == "35600000000048"
    assert errors_of(Form(), {"name": "A", "siret": "123"}) == {"siret": [msg.SIRET_INVALID]}
    assert errors_of(Form(), {"name": "A", "siret": "12345678901234"}) == {"siret": [msg.SIRET_CHECKSUM]}
    assert Form().load({"name": "A", "rna": "w751234567"})["rna"] == "W751234567"
    assert errors_of(Form(), {"name": "A", "rna": "X1"}) == {"rna": ["RNA du service."]}


def test_secret_is_kept_as_typed():
    assert Form().load({"name": "A", "password": "  s3cret ! "})["password"] == "  s3cret ! "
    assert errors_of(Form(), {"name": "A", "password": "x" * 1025}) == {
        "password": ["Ce champ ne doit pas dépasser 1024 caractères."]}


def test_day_flag_integer_and_url():
    loaded = Form().load({"name": "A", "birth_date": "1988-03-04", "accepted": True, "children": 2,
                          "website": "https://ecole.example"})
    assert (loaded["birth_date"], loaded["accepted"], loaded["children"]) == (dt.date(1988, 3, 4), True, 2)
    assert errors_of(Form(), {"name": "A", "birth_date": "04/03/1988"}) == {"birth_date": [msg.DATE_INVALID]}
    assert errors_of(Form(), {"name": "A", "accepted": "peut-être"}) == {"accepted": [msg.FIELD_NOT_BOOLEAN]}
    assert errors_of(Form(), {"name": "A", "children": 2.5}) == {"children": [msg.INTEGER_INVALID]}
    assert errors_of(Form(), {"name": "A", "children": "2"}) == {"children": [msg.INTEGER_INVALID]}
    assert errors_of(Form(), {"name": "A", "children": -1}) == {"children": [msg.NOT_NEGATIVE]}
    assert errors_of(Form(), {"name": "A", "website": "ftp://x"}) == {"website": [msg.URL_INVALID]}


def test_answers_may_hold_dates_as_objects_or_iso_text():
    class Answer(FrenchSchema):
        day = Day()
        at = Timestamp()

    instant = dt.datetime(2026, 11, 28, 5, 0, tzinfo=dt.timezone.utc)
    assert Answer().dump({"day": dt.date(2026, 11, 28), "at": instant}) == {
        "day": "2026-11-28", "at": "2026-11-28T05:00:00+00:00"}
    assert Answer().dump({"day": "2026-11-28", "at": "2026-11-28T05:00:00+00:00"}) == {
        "day": "2026-11-28", "at": "2026-11-28T05:00:00+00:00"}


def test_nested_objects_and_schema_level_messages():
    assert errors_of(Form(), {"name": "A", "address": {"postal_code": "69002"}}) == {
        "address": {"locality": [msg.FIELD_REQUIRED]}}
    assert errors_of(Form(), {"name": "A", "address": "Lyon"}) == {"address": {"_schema": [msg.INPUT_NOT_OBJECT]}}
    assert errors_of(Form(), {"name": "A", "nickname": "Jo"}) == {"nickname": [msg.FIELD_UNKNOWN]}
    assert errors_of(Form(), ["A"]) == {"_schema": [msg.INPUT_NOT_OBJECT]}


def test_plain_marshmallow_fields_and_validators_answer_in_french():
    assert errors_of(Form(), {"name": "A", "code": "123"}) == {"code": ["La longueur doit être égale à 5."]}

    class Plain(FrenchSchema):
        count = fields.Integer(required=True)

    assert errors_of(Plain(), {}) == {"count": ["Champ obligatoire."]}
    assert errors_of(Plain(), {"count": "x"}) == {"count": ["Nombre entier invalide."]}


def test_add_error_reports_each_message_once_at_its_path():
    errors: dict = {}
    add_error(errors, ("address", "street_name"), "Renseignez la voie.")
    add_error(errors, ("address", "street_name"), "Renseignez la voie.")
    add_error(errors, ("phones",), "Au moins un numéro.")
    assert errors == {"address": {"street_name": ["Renseignez la voie."]}, "phones": ["Au moins un numéro."]}
    add_error(errors, ("phones", "mobile"), "Portable requis.")  # the whole group failed already: kept as is
    assert errors["phones"] == ["Au moins un numéro."]
