"""French messages of every schema crossing a boundary (API bodies, RPC arguments and answers, events).

Citizens read these messages next to the form field they typed in, so none
may stay in English. Two kinds live here:

- the generic messages of the field kit (``guichet_contracts.fields``):
  ``FIELD_REQUIRED``, ``INPUT_NOT_OBJECT``, ``PHONE_INVALID``... Messages
  that belong to one service's rules (a seed's wording) stay in that service
  and are handed to the fields as arguments;
- the French versions of marshmallow's default messages, in one table used
  two ways: ``localize_field`` gives a schema field French default messages
  when the kit's base schema binds it (see ``fields.FrenchSchema``), and
  ``translate`` rewrites, after the fact, any message that still has
  marshmallow's English wording: validator messages (``Length``, ``Range``,
  ``OneOf``...) carry their parameters, and schemas not derived from the base
  schema exist too. Messages already in French pass through unchanged.

A test renders every default message of the installed marshmallow and checks
it has a French version, so an upgrade that adds one is noticed.
"""
from __future__ import annotations

import re
from collections.abc import Callable

# --- messages of the field kit --------------------------------------------------------

FIELD_REQUIRED = "Ce champ est obligatoire."
FIELD_NULL = "Ce champ ne peut pas être vide."
FIELD_INVALID = "Valeur invalide."
FIELD_NOT_TEXT = "Ce champ doit être un texte."
FIELD_NOT_BOOLEAN = "Ce champ doit valoir vrai ou faux."
FIELD_NOT_OBJECT = "Ce champ doit être un objet."
FIELD_UNKNOWN = "Champ inconnu."
FIELD_TOO_LONG = "Ce champ ne doit pas dépasser {max} caractères."
INPUT_NOT_OBJECT = "Les données envoyées doivent être un objet JSON."
NAME_INVALID = "Ce champ ne peut contenir que des lettres, des espaces, des tirets et des apostrophes."
DATE_INVALID = "Date invalide (format attendu : AAAA-MM-JJ)."
# The examples are those of the registration form of seed 002 (« Courriel * (jacques.dupond@test.fr) »,
# « Téléphone personnel (ex. : 0102030405) », « Téléphone portable (ex. : 0606060605) »).
EMAIL_INVALID = "Adresse courriel invalide (ex. : jacques.dupond@test.fr)."
PHONE_INVALID = "Numéro de téléphone invalide (ex. : 0102030405)."
MOBILE_INVALID = "Ce numéro n'est pas un numéro de téléphone portable (ex. : 0606060605)."
SIRET_INVALID = "Le numéro SIRET doit contenir 14 chiffres."
SIRET_CHECKSUM = "Ce numéro SIRET n'est pas valide (clé de contrôle incorrecte)."
RNA_INVALID = "Le numéro RNA doit commencer par W suivi de 9 caractères (ex. : W751234567)."
INTEGER_INVALID = "Ce champ doit être un nombre entier."
NOT_NEGATIVE = "Ce champ ne peut pas être négatif."
URL_INVALID = "Adresse web invalide."


# --- marshmallow's default messages in French -----------------------------------------

# What marshmallow's date/time fields put in {obj_type}.
_DATE_KINDS = {
    "datetime": "Date et heure invalides.",
    "aware datetime": "Date et heure invalides.",
    "naive datetime": "Date et heure invalides.",
    "date": "Date invalide.",
    "time": "Heure invalide.",
}


def _invalid_date_kind(values: dict) -> str:
    return _DATE_KINDS.get(values.get("obj_type", ""), "Valeur invalide.")


def _awareness(values: dict) -> str:
    if values.get("awareness") == "aware":
        return "Date et heure invalides : le fuseau horaire doit être précisé."
    return "Date et heure invalides : le fuseau horaire ne doit pas être précisé."


# English template (marshmallow's wording, placeholders included) -> French template or builder.
MESSAGES: dict[str, str | Callable[[dict], str]] = {
    # Schema and every field
    "Missing data for required field.": "Champ obligatoire.",
    "Field may not be null.": "Ce champ ne peut pas être vide.",
    "Invalid value.": "Valeur invalide.",
    "Unknown field.": "Champ inconnu.",
    "Invalid input type.": "Type de données invalide.",
    "Invalid type.": "Type de données invalide.",
    "Invalid input.": "Valeur invalide.",
    # Typed fields
    "Not a valid string.": "Texte invalide.",
    "Not a valid utf-8 string.": "Texte invalide (encodage UTF-8 attendu).",
    "Not a valid integer.": "Nombre entier invalide.",
    "Not a valid number.": "Nombre invalide.",
    "Number too large.": "Nombre trop grand.",
    "Special numeric values (nan or infinity) are not permitted.":
        "Les valeurs numériques spéciales (nan, infini) ne sont pas autorisées.",
    "Not a valid boolean.": "Valeur booléenne invalide (true ou false attendu).",
    "Not a valid date.": "Date invalide.",
    "Not a valid {obj_type}.": _invalid_date_kind,
    "Not a valid {awareness} {obj_type}.": _awareness,
    '"{input}" cannot be formatted as a {obj_type}.': "Valeur impossible à mettre en forme.",
    '"{input}" cannot be formatted as a date.': "Valeur impossible à mettre en forme.",
    "{input!r} cannot be formatted as a timedelta.": "Valeur impossible à mettre en forme.",
    "Not a valid period of time.": "Durée invalide.",
    "Not a valid mapping type.": "Objet invalide.",
    "Not a valid list.": "Liste invalide.",
    "Not a valid tuple.": "Liste invalide.",
    "Not a valid email address.": "Adresse e-mail invalide.",
    "Not a valid URL.": "Adresse web (URL) invalide.",
    "Not a valid UUID.": "Identifiant (UUID) invalide.",
    "Not a valid IP address.": "Adresse IP invalide.",
    "Not a valid IPv4 address.": "Adresse IPv4 invalide.",
    "Not a valid IPv6 address.": "Adresse IPv6 invalide.",
    "Not a valid IP interface.": "Interface IP invalide.",
    "Not a valid IPv4 interface.": "Interface IPv4 invalide.",
    "Not a valid IPv6 interface.": "Interface IPv6 invalide.",
    # Validators (rendered with their parameters)
    "Shorter than minimum length {min}.": "Longueur inférieure au minimum ({min}).",
    "Longer than maximum length {max}.": "Longueur supérieure au maximum ({max}).",
    "Length must be between {min} and {max}.": "La longueur doit être comprise entre {min} et {max}.",
    "Length must be {equal}.": "La longueur doit être égale à {equal}.",
    "Must be greater than or equal to {min}.": "Doit être supérieur ou égal à {min}.",
    "Must be greater than {min}.": "Doit être strictement supérieur à {min}.",
    "Must be less than or equal to {max}.": "Doit être inférieur ou égal à {max}.",
    "Must be less than {max}.": "Doit être strictement inférieur à {max}.",
    "Must be greater than or equal to {min} and less than or equal to {max}.":
        "Doit être compris entre {min} et {max} inclus.",
    "Must be greater than {min} and less than {max}.": "Doit être compris entre {min} et {max} exclus.",
    "Must be greater than or equal to {min} and less than {max}.":
        "Doit être supérieur ou égal à {min} et strictement inférieur à {max}.",
    "Must be greater than {min} and less than or equal to {max}.":
        "Doit être strictement supérieur à {min} et inférieur ou égal à {max}.",
    "Must be one of: {choices}.": "Doit être l'une des valeurs suivantes : {choices}.",
    "Must be equal to {other}.": "Doit être égal à {other}.",
    "String does not match expected pattern.": "Format invalide.",
    "One or more of the choices you made was not in: {choices}.":
        "Un ou plusieurs choix ne font pas partie des valeurs autorisées : {choices}.",
    "One or more of the choices you made was in: {values}.":
        "Un ou plusieurs choix font partie des valeurs interdites : {values}.",
}

_PLACEHOLDER = re.compile(r"\{(\w+)(?:![rs])?\}")


def _pattern(template: str) -> re.Pattern:
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        parts.append(f"(?P<{match.group(1)}>.+?)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _literal_length(template: str) -> int:
    return len(_PLACEHOLDER.sub("", template))


# Most specific first: "Must be greater than {min}." must not swallow "... or equal to 3.".
_RULES = [(_pattern(english), french)
          for english, french in sorted(MESSAGES.items(), key=lambda item: -_literal_length(item[0]))]


def _render(french: str | Callable[[dict], str], values: dict) -> str:
    return french(values) if callable(french) else french.format(**values)


def translate_message(message: str) -> str:
    for pattern, french in _RULES:
        match = pattern.fullmatch(message)
        if match:
            return _render(french, match.groupdict())
    return message


def translate(messages):
    """Translate a marshmallow ``messages`` structure (dicts, lists, strings), keeping its shape."""
    if isinstance(messages, str):
        return translate_message(messages)
    if isinstance(messages, dict):
        return {key: translate(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate(value) for value in messages]
    return messages


def localize_field(field) -> None:
    """Replace a bound field's English default messages by French ones (custom messages are kept)."""
    kind = {"obj_type": getattr(field, "OBJ_TYPE", ""), "awareness": getattr(field, "AWARENESS", "")}
    localized = {}
    for key, message in field.error_messages.items():
        french = MESSAGES.get(message) if isinstance(message, str) else None
        if french is None:
            continue
        # Templates filled at validation time by marshmallow keep their placeholders.
        localized[key] = french(kind) if callable(french) else french
    if localized:
        field.error_messages = {**field.error_messages, **localized}
