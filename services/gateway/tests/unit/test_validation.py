"""422 problems with per-field messages in correct French, whatever produced the English original."""
import datetime as dt
import enum
import inspect
import re

import marshmallow as ma
import pytest
from marshmallow import fields, validate

from guichet_contracts.fields import FrenchSchema
from guichet_contracts.french_messages import MESSAGES, translate, translate_message


def validation_errors(response) -> dict:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == "urn:guichet:problem:validation"
    assert body["detail"] == "Certaines informations saisies sont invalides."
    assert body["instance"] == response.request.path
    return body["errors"]


def test_required_field(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json={}))
    assert errors == {"nom": ["Champ obligatoire."]}


def test_unknown_field(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json={"nom": "Dupont", "prénom": "Jean"}))
    assert errors == {"prénom": ["Champ inconnu."]}


def test_type_messages(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json={
        "nom": 12, "age": "douze", "email": "pas-une-adresse", "naissance": "31/02/2020"}))
    assert errors == {
        "nom": ["Texte invalide."],
        "age": ["Nombre entier invalide."],
        "email": ["Adresse e-mail invalide."],
        "naissance": ["Date invalide."],
    }


def test_length_range_and_choice_messages(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json={
        "nom": "D", "age": 200, "civilite": "Dr"}))
    assert errors == {
        "nom": ["La longueur doit être comprise entre 2 et 20."],
        "age": ["Doit être compris entre 0 et 130 inclus."],
        "civilite": ["Doit être l'une des valeurs suivantes : M., Mme."],
    }


def test_one_sided_length_messages():
    class Form(FrenchSchema):
        court = fields.String(validate=validate.Length(max=3))
        long = fields.String(validate=validate.Length(min=3))

    assert Form().validate({"court": "abcd", "long": "ab"}) == {
        "court": ["Longueur supérieure au maximum (3)."], "long": ["Longueur inférieure au minimum (3)."]}


def test_null_and_nested_messages_keep_their_shape(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json={
        "nom": None, "enfants": [{"prenom": "Léa"}, {}, "x"]}))
    assert errors == {
        "nom": ["Ce champ ne peut pas être vide."],
        "enfants": {"1": {"prenom": ["Champ obligatoire."]}, "2": {"_schema": ["Les données envoyées doivent être un objet JSON."]}},
    }


def test_a_body_that_is_not_an_object(client):
    errors = validation_errors(client.post("/api/v1/test/personnes", json=["Dupont"]))
    assert errors == {"_schema": ["Les données envoyées doivent être un objet JSON."]}


def test_a_schema_not_derived_from_the_base_one_is_translated_too(client):
    errors = validation_errors(client.post("/api/v1/test/plain", json={"code": "123", "autre": 1}))
    assert errors == {"code": ["La longueur doit être égale à 5."], "autre": ["Champ inconnu."]}


def test_query_string_errors_are_per_parameter(client):
    errors = validation_errors(client.get("/api/v1/test/pages?page=deux"))
    assert errors == {"page": ["Nombre entier invalide."]}
    errors = validation_errors(client.get("/api/v1/test/pages?page=0"))
    assert errors == {"page": ["Doit être supérieur ou égal à 1."]}


def test_valid_input_passes(client):
    response = client.post("/api/v1/test/personnes", json={"nom": "Dupont", "age": 42, "naissance": "1982-03-01"})
    assert response.status_code == 201
    assert response.get_json()["naissance"] == "1982-03-01"


def test_the_base_schema_has_french_messages_before_any_translation():
    class Form(FrenchSchema):
        nom = fields.String(required=True)
        quand = fields.AwareDateTime()
        heure = fields.Time()
        couleur = fields.Enum(enum.Enum("Couleur", "BLEU ROUGE"))
        perso = fields.String(required=True, error_messages={"required": "Indiquez votre nom."})

    errors = Form().validate({"quand": "2024-01-01T10:00:00", "heure": "25:99", "couleur": "VERT"})
    assert errors == {
        "nom": ["Champ obligatoire."],
        "perso": ["Indiquez votre nom."],
        "quand": ["Date et heure invalides : le fuseau horaire doit être précisé."],
        "heure": ["Heure invalide."],
        "couleur": ["Doit être l'une des valeurs suivantes : BLEU, ROUGE."],
    }
    assert Form().validate({"nom": "a", "perso": "b", "x": 1}) == {"x": ["Champ inconnu."]}
    assert Form().validate([1], many=False) == {"_schema": ["Les données envoyées doivent être un objet JSON."]}


@pytest.mark.parametrize(("english", "french"), [
    ("Must be greater than or equal to 3.", "Doit être supérieur ou égal à 3."),
    ("Must be greater than 3.", "Doit être strictement supérieur à 3."),
    ("Must be less than 10.", "Doit être strictement inférieur à 10."),
    ("Must be greater than 0 and less than or equal to 5.",
     "Doit être strictement supérieur à 0 et inférieur ou égal à 5."),
    ("Length must be between 2 and 8.", "La longueur doit être comprise entre 2 et 8."),
    ("Not a valid datetime.", "Date et heure invalides."),
    ("Must be equal to 42.", "Doit être égal à 42."),
    ("Déjà en français.", "Déjà en français."),
])
def test_translation_of_rendered_messages(english, french):
    assert translate_message(english) == french


def test_translate_keeps_the_structure():
    assert translate({"a": ["Unknown field."], "b": {0: {"c": ["Not a valid list."]}}}) == \
        {"a": ["Champ inconnu."], "b": {0: {"c": ["Liste invalide."]}}}


# --- every message the installed marshmallow can produce has a French version ---

SAMPLE_VALUES = {"min": 1, "max": 9, "equal": 4, "choices": "a, b", "values": "a, b", "other": "x",
                 "input": "x", "obj_type": "datetime", "awareness": "aware", "min_op": "greater than",
                 "max_op": "less than"}


def _rendered(template: str) -> str:
    return template.format(**SAMPLE_VALUES)


def marshmallow_default_messages() -> set[str]:
    messages = set(ma.Schema._default_error_messages.values())
    for _, field_class in inspect.getmembers(fields, inspect.isclass):
        if issubclass(field_class, fields.Field):
            messages.update(getattr(field_class, "default_error_messages", {}).values())
    for _, validator_class in inspect.getmembers(validate, inspect.isclass):
        for name, value in vars(validator_class).items():
            if isinstance(value, str) and (name.startswith("message") or name.startswith("default_message")) \
                    and not name.endswith(("_gt", "_gte", "_lt", "_lte")):
                messages.add(value)
    return messages


def range_messages() -> set[str]:
    rendered = set()
    for min_op in (validate.Range.message_gt, validate.Range.message_gte):
        for max_op in (validate.Range.message_lt, validate.Range.message_lte):
            for template in (validate.Range.message_min, validate.Range.message_max, validate.Range.message_all):
                rendered.add(template.format(min_op=min_op, max_op=max_op).format(min=1, max=9))
    return rendered


def test_every_marshmallow_message_has_a_french_version():
    english = {_rendered(message) for message in marshmallow_default_messages() if "{min_op}" not in message
               and "{max_op}" not in message} | range_messages()
    untranslated = sorted(message for message in english if translate_message(message) == message)
    assert not untranslated, f"add French versions to french_messages.MESSAGES for: {untranslated}"


def test_no_french_message_looks_english_or_lacks_accents_where_needed():
    french = [value for value in MESSAGES.values() if isinstance(value, str)]
    assert not [text for text in french if re.search(r"\b(the|must|not a|field|invalid value)\b", text, re.I)]
    assert all(text[0].isupper() and text.endswith(".") for text in french)
    # Common slips: "etre", "superieur", "numero"... must carry their accents.
    assert not [text for text in french if re.search(r"\b(etre|superieur|inferieur|egal|numerique|donnees)\b", text)]


def test_date_messages_of_every_kind():
    class Dates(FrenchSchema):
        jour = fields.Date()
        moment = fields.DateTime()
        naif = fields.NaiveDateTime()

    errors = Dates().validate({"jour": "x", "moment": "x", "naif": dt.datetime.now(dt.UTC).isoformat()})
    assert errors == {"jour": ["Date invalide."], "moment": ["Date et heure invalides."],
                      "naif": ["Date et heure invalides : le fuseau horaire ne doit pas être précisé."]}
