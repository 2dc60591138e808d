"""The French field kit: the base schema and the fields of every schema crossing a boundary.

API bodies and answers (``guichet_contracts.api``), RPC arguments and answers
(each service's ``schemas.py``) and event payloads derive from
``FrenchSchema`` and use these fields, so that every message a citizen may
read is French and worded once:

- ``FrenchSchema``: unknown keys are refused (a misspelt field is an error the
  client must see, not data silently dropped), schema-level messages are
  French, plain marshmallow fields get French default messages when bound and
  any English message left (validators such as ``Length``) is translated;
- ``Text`` (stripped, spaces collapsed, a blank value counts as missing or
  becomes ``None``, at most ``max_length`` characters) and its refinements
  ``Choice``, ``Name``, ``Commune``, ``Phone``, ``Siret``, ``Rna``, ``Url``;
  ``Secret`` (a password, never altered), ``Email`` (lower-cased), ``Day``
  (ISO date), ``Timestamp`` (ISO date and time, answers), ``Flag`` (boolean),
  ``Integer`` (strict, not negative by default), ``Group`` (nested object);
- ``add_error``: how a cross-field rule adds a message at a path of the
  ``errors`` it raises, so that every problem is reported in one pass.

A service's own wording (a seed's sentence) is given to the field as an
argument (``Choice(..., error=...)``, ``error_messages={"required": ...}``);
the generic messages live in ``french_messages``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from . import french_messages as msg
from .french_messages import localize_field, translate
from .identifiers import IdentifierError, PhoneError, normalise_mobile, normalise_phone, normalise_rna, normalise_siret

_Messages = dict[str, str | list[Any] | dict[Any, Any]]  # marshmallow's type of error_messages
_FRENCH: _Messages = {"required": msg.FIELD_REQUIRED, "null": msg.FIELD_NULL, "validator_failed": msg.FIELD_INVALID}
_TEXT_MESSAGES: _Messages = {**_FRENCH, "invalid": msg.FIELD_NOT_TEXT, "invalid_utf8": msg.FIELD_NOT_TEXT,
                  "too_long": msg.FIELD_TOO_LONG}
_NAME = re.compile(r"^[^\W\d_]+(?:(?: |-|'|’|' | ' |’ )[^\W\d_]+)*$")
_COMMUNE = re.compile(r"^[^\W_]+(?:(?: |-|'|’|' |’ )[^\W_]+)*$")
_SPACES = re.compile(r"\s+")
SECRET_MAX_LENGTH = 1024


class FrenchSchema(ma.Schema):
    """The base of every schema crossing a boundary (see the module documentation)."""

    error_messages = {"unknown": msg.FIELD_UNKNOWN, "type": msg.INPUT_NOT_OBJECT}

    class Meta:
        # A misspelt field is an error the client must see, not data silently dropped.
        unknown = ma.RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        localize_field(field_obj)

    def handle_error(self, error: ma.ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        # Validator messages (Length, Range...) and inner fields of List/Dict are not bound fields:
        # translated here, in place, so load() and validate() both report French.
        translated = translate(error.messages)
        if isinstance(error.messages, dict):
            error.messages.clear()
            error.messages.update(translated)
        elif isinstance(error.messages, list):
            error.messages[:] = translated


def add_error(errors: dict, path: tuple[str, ...], message: str) -> None:
    """Add ``message`` at ``path`` of ``errors`` ({field: [messages]}, nested for nested objects), once."""
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if isinstance(node, list):  # the nested field already failed as a whole; keep its errors
            return
    node.setdefault(path[-1], [])
    if isinstance(node[path[-1]], list) and message not in node[path[-1]]:
        node[path[-1]].append(message)


def _with_metadata(kwargs: dict, **documented: Any) -> dict:
    """Document in the OpenAPI schema what the field checks in code (the field's own metadata wins)."""
    kwargs["metadata"] = {**documented, **kwargs.get("metadata", {})}
    return kwargs


class Text(fields.String):
    """Stripped text; a blank value counts as missing (``required``) or becomes ``None``."""

    default_error_messages = _TEXT_MESSAGES

    def __init__(self, *, max_length: int = 100, collapse: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        if not kwargs.get("required", False):
            kwargs.setdefault("load_default", None)
        super().__init__(**_with_metadata(kwargs, maxLength=max_length))
        self.max_length = max_length
        self.collapse = collapse

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = _SPACES.sub(" ", text).strip() if self.collapse else text.strip()
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        if len(text) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        return self.clean(text)

    def clean(self, text: str) -> Any:
        """The value of a non-blank text, or ``ValidationError`` (refinements override it)."""
        return text


class Choice(Text):
    """One of ``choices``; ``error`` is the service's sentence naming them."""

    def __init__(self, choices: Iterable[str], *, error: str, **kwargs: Any) -> None:
        self.choices = tuple(choices)
        super().__init__(max_length=64, **_with_metadata(kwargs, enum=list(self.choices)))
        self.choice_error = error

    def clean(self, text: str) -> str:
        if text not in self.choices:
            raise ma.ValidationError(self.choice_error)
        return text


class _Matching(Text):
    pattern: re.Pattern = _NAME

    def __init__(self, *, error: str = msg.NAME_INVALID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern_error = error

    def clean(self, text: str) -> str:
        if not self.pattern.match(text):
            raise ma.ValidationError(self.pattern_error)
        return text


class Name(_Matching):
    """A person's name: letters (accents allowed), spaces, hyphens and apostrophes."""

    pattern = _NAME


class Commune(_Matching):
    """A commune's name: as ``Name``, digits allowed (« LYON 02 »)."""

    pattern = _COMMUNE


class _Normalised(Text):
    """Text whose value is its normal form; the normaliser's error carries the French message."""

    def __init__(self, *, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normalise_error = error

    def normalise(self, text: str) -> str:
        raise NotImplementedError

    def clean(self, text: str) -> str:
        try:
            return self.normalise(text)
        except (PhoneError, IdentifierError) as error:
            raise ma.ValidationError(self.normalise_error or str(error)) from None


class Phone(_Normalised):
    """A phone number, answered in E.164 (``+33102030405``); ``mobile=True`` accepts mobiles only."""

    def __init__(self, *, mobile: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.mobile = mobile

    def normalise(self, text: str) -> str:
        return normalise_mobile(text) if self.mobile else normalise_phone(text)


class Siret(_Normalised):
    """A SIRET number: its 14 digits, checksum verified."""

    def normalise(self, text: str) -> str:
        return normalise_siret(text)


class Rna(_Normalised):
    """An RNA number (associations), upper-case."""

    def normalise(self, text: str) -> str:
        return normalise_rna(text)


class Url(Text):
    """An http(s) address."""

    def __init__(self, *, error: str = msg.URL_INVALID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url_error = error

    def clean(self, text: str) -> str:
        if not (text.startswith("https://") or text.startswith("http://")):
            raise ma.ValidationError(self.url_error)
        return text


class Secret(fields.String):
    """A password as typed: never stripped or altered (the service checks its policy)."""

    default_error_messages = _TEXT_MESSAGES

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_with_metadata(kwargs, maxLength=SECRET_MAX_LENGTH, format="password"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > SECRET_MAX_LENGTH:
            raise self.make_error("too_long", max=SECRET_MAX_LENGTH)
        return text


class Email(fields.Email):
    """An email address, stripped and lower-cased, 254 characters at most."""

    default_error_messages = {**_FRENCH, "invalid": msg.EMAIL_INVALID}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_with_metadata(kwargs, maxLength=254))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value and self.required:
                raise self.make_error("required")
        if isinstance(value, str) and len(value) > 254:
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.lower() if isinstance(result, str) else result


class _IsoTextAsIs:
    """An answer may already hold the ISO text (read back from JSON): dumped as it is."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)  # type: ignore[misc]


class Day(_IsoTextAsIs, fields.Date):
    """A date in ISO 8601 (``AAAA-MM-JJ``); an answer may hold it as a ``date`` or as its ISO text."""

    default_error_messages = {**_FRENCH, "invalid": msg.DATE_INVALID, "format": msg.DATE_INVALID}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)


class Timestamp(_IsoTextAsIs, fields.DateTime):
    """A date and time in ISO 8601 with its offset; an answer may hold it as a ``datetime`` or its ISO text."""

    default_error_messages = {**_FRENCH, "invalid": msg.FIELD_INVALID, "format": msg.FIELD_INVALID}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)


class Flag(fields.Boolean):
    default_error_messages = {**_FRENCH, "invalid": msg.FIELD_NOT_BOOLEAN}


class Integer(fields.Integer):
    """A whole number, strict (no « 3.0 », no text); not negative unless ``validate`` says otherwise."""

    default_error_messages = {"invalid": msg.INTEGER_INVALID, "required": msg.FIELD_REQUIRED,
                              "null": msg.FIELD_NULL, "too_large": msg.INTEGER_INVALID}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("validate", validate.Range(min=0, error=msg.NOT_NEGATIVE))
        super().__init__(strict=True, **kwargs)


class Group(fields.Nested):
    """A nested object (an address, the phones...)."""

    default_error_messages = {**_FRENCH, "type": msg.FIELD_NOT_OBJECT}
