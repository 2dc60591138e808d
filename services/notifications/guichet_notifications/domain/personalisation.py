"""A notification's personalisation checked against its template's metadata.

Before rendering, the personalisation is checked, so a missing value is
reported with *every* missing name at once (:class:`MissingPersonalisation`),
a value of the wrong kind with its name (:class:`InvalidPersonalisation`).
Optional names that were not given are ``None`` in the template; names nobody
declared are ignored, as in Notify.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from guichet_common import clock, money
from guichet_common.clock import Zone

from .templates import RESERVED, InvalidPersonalisation, MissingPersonalisation, Template


def check_url(value) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s<>\"']+$", value.strip()):
        raise ValueError("adresse http(s) attendue")
    return value.strip()


def _rows(spec: Mapping, value, zone: Zone) -> list[dict]:
    if not isinstance(value, (list, tuple)):
        raise ValueError("liste attendue")
    return [_row(spec["rows"], index, row, zone) for index, row in enumerate(value, start=1)]


def _row(columns: Mapping, index: int, row, zone: Zone) -> dict:
    if not isinstance(row, Mapping):
        raise ValueError(f"ligne {index} : objet attendu")
    converted = {}
    for column, column_spec in columns.items():
        optional = isinstance(column_spec, str) and column_spec.endswith("?")
        base = column_spec[:-1] if optional else column_spec
        if row.get(column) is None:
            if not optional:
                raise ValueError(f"ligne {index} : {column} manquant")
            converted[column] = None
            continue
        try:
            converted[column] = convert(base, row[column], zone)
        except ValueError as error:
            raise ValueError(f"ligne {index}, {column} : {error}") from None
    return converted


def _text(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("texte attendu")
    return str(value)


def _integer(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise ValueError("nombre entier attendu")
    return value


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("booléen attendu")
    return value


def _date(value, zone: Zone):
    """The day in the town's zone of a date or a datetime."""
    parsed = clock.local(value, zone)
    return parsed.date() if isinstance(parsed, datetime) else parsed


def _month(value, zone: Zone):
    clock.format_month(value, zone)
    return value


def _list(value) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                        for v in value):
        raise ValueError("liste de textes attendue")
    return [str(v) for v in value]


_CONVERTERS = {
    "text": _text, "integer": _integer, "boolean": _boolean, "datetime": clock.parse_temporal,
    "cents": money.parse_cents, "url": check_url, "list": _list,
}
_ZONED_CONVERTERS = {"date": _date, "month": _month}


def convert(spec, value, zone: Zone):
    """``value`` converted to what the template uses, or ValueError (French)."""
    if isinstance(spec, Mapping):
        return _rows(spec, value, zone)
    if spec in _ZONED_CONVERTERS:
        return _ZONED_CONVERTERS[spec](value, zone)
    converter = _CONVERTERS.get(spec)
    if converter is None:  # pragma: no cover (checked at load time)
        raise ValueError(f"type inconnu {spec}")
    return converter(value)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or \
        (isinstance(value, (list, tuple, dict)) and not value)


def _missing(template: Template, given: Mapping[str, Any]) -> list[str]:
    missing = [name for name in template.required if _blank(given.get(name))]
    for name, condition in template.required_if.items():
        if all(given.get(key) in values for key, values in condition.items()) and _blank(given.get(name)):
            missing.append(name)
    return missing


def _converted(template: Template, name: str, value, zone: Zone):
    value = convert(template.types.get(name, "text"), value, zone)
    if name in template.choices and value not in template.choices[name]:
        raise ValueError("valeur attendue parmi " + ", ".join(str(c) for c in template.choices[name]))
    return value


def prepare_personalisation(template: Template, personalisation: Mapping[str, Any] | None,
                            zone: Zone = clock.DEFAULT_ZONE) -> dict[str, Any]:
    """The render context's personalisation part: checked, converted (dates in the town's ``zone``),
    optional names filled with ``None``, undeclared names dropped."""
    given = dict(personalisation or {})
    clash = set(given) & RESERVED
    if clash:
        raise InvalidPersonalisation({name: "nom réservé" for name in clash})
    missing = _missing(template, given)
    if missing:
        raise MissingPersonalisation(missing)
    context: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in template.declared:
        value = given.get(name)
        if _blank(value):
            context[name] = None
            continue
        try:
            context[name] = _converted(template, name, value, zone)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidPersonalisation(errors)
    return context
