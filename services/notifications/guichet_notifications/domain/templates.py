"""French notification templates: what a template is, and the checks it must pass.

A template is data (``guichet_notifications/templates/<name>/``, read by
``adapters/template_files.py``)::

    meta.yaml      name, version, description, channels, essential, security,
                   personalisation: required / optional / choices / required_if / types
    subject.txt.j2 email subject (one line)      \\
    body.txt.j2    email plain-text part         | when "email" is a channel
    body.html.j2   email HTML part               /
    sms.txt.j2     SMS text                      -- when "sms" is a channel

The domain receives the parsed metadata and the sources (never a path):
:func:`template_from_meta` builds a checked :class:`Template`. The email parts
extend the shared layouts (``layout.txt.j2``, ``layout.html.j2``), given to the
renderer (:mod:`.rendering`) as sources too. The personalisation checks are in
:mod:`.personalisation`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from .delivery import PermanentFailure

CHANNELS = ("email", "sms")
PARTS = {"subject": "subject.txt.j2", "body_text": "body.txt.j2", "body_html": "body.html.j2", "sms": "sms.txt.j2"}
CHANNEL_PARTS = {"email": ("subject", "body_text", "body_html"), "sms": ("sms",)}

COMMON_OPTIONAL = ("display_name",)
"""Optional for every template: the recipient's name for the greeting."""

RESERVED = frozenset({"town", "unsubscribe_url", "email_subject"})
"""Names the renderer provides; a personalisation may not use them."""

TYPES = ("text", "integer", "date", "datetime", "month", "cents", "url", "list", "boolean")


# --- errors -----------------------------------------------------------------------

class TemplateError(PermanentFailure):
    """The notification cannot be built: recorded as a permanent failure."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)


class UnknownTemplate(TemplateError):
    def __init__(self, name: str):
        self.name = name
        super().__init__("unknown_template", f"Modèle inconnu : {name}")


class ChannelNotInTemplate(TemplateError):
    def __init__(self, name: str, channel: str):
        super().__init__("channel_not_in_template", f"Le modèle {name} n'existe pas pour le canal {channel}")


class MissingPersonalisation(TemplateError):
    def __init__(self, missing):
        self.missing = sorted(missing)
        super().__init__("missing_personalisation", "Personnalisation manquante : " + ", ".join(self.missing))


class InvalidPersonalisation(TemplateError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(sorted(errors.items()))
        super().__init__("invalid_personalisation",
                         "Personnalisation invalide : " + " ; ".join(f"{k} : {v}" for k, v in self.errors.items()))


class TemplateRenderError(TemplateError):
    def __init__(self, detail: str):
        super().__init__("template_error", detail)


class TemplateDefinitionError(ValueError):
    """A template's files or metadata are wrong (raised when loading, never at send time)."""


# --- town branding ----------------------------------------------------------------

def _https_or_http(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s<>\"]+$", value.strip()):
        raise ValueError(f"{what} : adresse http(s) attendue")
    return value.strip()


@dataclass(frozen=True)
class TownBranding:
    """What every message shows of the town (from the town settings file).

    ``name`` is the full display name, as it reads alone on a line and in an
    email's From: ``"Ville de Roubaix"``, ``"Mairie de Quiévrechain"``.
    ``address`` may span several lines; ``opening_hours`` is a list of lines.
    """

    name: str
    logo_url: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    opening_hours: tuple[str, ...] = ()
    portal_url: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("town name is required")
        if "\n" in self.name or "\r" in self.name:
            raise ValueError("town name must be one line")
        object.__setattr__(self, "logo_url", _https_or_http(self.logo_url, "logo_url"))
        object.__setattr__(self, "website", _https_or_http(self.website, "website"))
        object.__setattr__(self, "portal_url", _https_or_http(self.portal_url, "portal_url"))
        hours = self.opening_hours
        if isinstance(hours, str):
            hours = tuple(line for line in hours.splitlines() if line.strip())
        object.__setattr__(self, "opening_hours", tuple(hours or ()))

    @property
    def address_lines(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in (self.address or "").splitlines() if line.strip())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "TownBranding":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown town branding keys: {', '.join(sorted(unknown))}")
        return cls(**dict(data))


# --- templates --------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """One notification template (one version of it)."""

    name: str
    version: int
    description: str
    channels: tuple[str, ...]
    essential: bool
    sources: Mapping[str, str]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    security: bool = False
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_if: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    types: Mapping[str, Any] = field(default_factory=dict)

    @property
    def personalisation(self) -> tuple[str, ...]:
        """The required personalisation names."""
        return self.required

    @property
    def declared(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional) | frozenset(COMMON_OPTIONAL)

    @cached_property
    def checksum(self) -> str:
        """Changes whenever a source or the metadata changes (to seed the database)."""
        h = hashlib.sha256()
        for part in sorted(self.sources):
            h.update(part.encode() + b"\0" + self.sources[part].encode() + b"\0")
        h.update(repr((self.version, self.channels, self.essential, self.security, self.required, self.optional,
                       sorted(self.choices.items()),
                       sorted((k, sorted(v.items())) for k, v in self.required_if.items()),
                       sorted((k, repr(v)) for k, v in self.types.items()))).encode())
        return h.hexdigest()

    def has_channel(self, channel: str) -> bool:
        return channel in self.channels


def _as_tuple(value, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TemplateDefinitionError(f"{what}: a list is expected")
    return tuple(value)


def template_from_meta(meta_data: Mapping[str, Any], sources: Mapping[str, str]) -> Template:
    """A :class:`Template` from parsed ``meta.yaml`` data and its sources (checked)."""
    if not isinstance(meta_data, Mapping):
        raise TemplateDefinitionError("meta.yaml must be a mapping")
    allowed = {"name", "version", "description", "channels", "essential", "security", "personalisation"}
    unknown = set(meta_data) - allowed
    if unknown:
        raise TemplateDefinitionError(f"unknown meta keys: {', '.join(sorted(unknown))}")
    pers = meta_data.get("personalisation") or {}
    unknown = set(pers) - {"required", "optional", "choices", "required_if", "types"}
    if unknown:
        raise TemplateDefinitionError(f"unknown personalisation keys: {', '.join(sorted(unknown))}")
    choices = {k: _as_tuple(v, f"choices.{k}") for k, v in (pers.get("choices") or {}).items()}
    required_if = {k: {ck: _as_tuple(cv if isinstance(cv, list) else [cv], f"required_if.{k}")
                       for ck, cv in cond.items()}
                   for k, cond in (pers.get("required_if") or {}).items()}
    template = Template(
        name=meta_data.get("name"),
        version=meta_data.get("version"),
        description=(meta_data.get("description") or "").strip(),
        channels=_as_tuple(meta_data.get("channels"), "channels"),
        essential=meta_data.get("essential"),
        security=bool(meta_data.get("security", False)),
        required=_as_tuple(pers.get("required"), "required"),
        optional=_as_tuple(pers.get("optional"), "optional"),
        choices=MappingProxyType(choices),
        required_if=MappingProxyType(required_if),
        types=MappingProxyType(dict(pers.get("types") or {})),
        sources=MappingProxyType(dict(sources)),
    )
    check_template(template)
    return template


def _check_type_spec(name: str, spec) -> None:
    if isinstance(spec, str):
        base = spec[:-1] if spec.endswith("?") else spec
        if base not in TYPES:
            raise TemplateDefinitionError(f"types.{name}: unknown type {spec!r}")
        return
    if isinstance(spec, Mapping) and set(spec) == {"rows"} and isinstance(spec["rows"], Mapping):
        for column, column_spec in spec["rows"].items():
            _check_type_spec(f"{name}.{column}", column_spec)
        return
    raise TemplateDefinitionError(f"types.{name}: a type name or {{rows: {{column: type}}}} is expected")


def _check_identity(template: Template, where: str) -> None:
    if not isinstance(template.version, int) or isinstance(template.version, bool) or template.version < 1:
        raise TemplateDefinitionError(f"{where}: version must be a positive integer")
    if not isinstance(template.essential, bool):
        raise TemplateDefinitionError(f"{where}: essential must be true or false")
    if not template.description:
        raise TemplateDefinitionError(f"{where}: description is required")


def _check_channels(template: Template, where: str) -> None:
    if not template.channels or set(template.channels) - set(CHANNELS):
        raise TemplateDefinitionError(f"{where}: channels must be among {CHANNELS}")
    if template.security and (not template.essential or "email" not in template.channels):
        raise TemplateDefinitionError(f"{where}: a security template is essential and has an email version")
    needed = {part for channel in template.channels for part in CHANNEL_PARTS[channel]}
    missing = needed - set(template.sources)
    if missing:
        raise TemplateDefinitionError(f"{where}: missing {', '.join(PARTS[p] for p in sorted(missing))}")
    extra = set(template.sources) - needed
    if extra:
        raise TemplateDefinitionError(f"{where}: {', '.join(PARTS[p] for p in sorted(extra))} "
                                      f"without the matching channel")


def _check_names(template: Template, where: str) -> None:
    declared = template.declared
    both = set(template.required) & set(template.optional)
    if both:
        raise TemplateDefinitionError(f"{where}: both required and optional: {', '.join(sorted(both))}")
    clash = declared & RESERVED
    if clash:
        raise TemplateDefinitionError(f"{where}: reserved names: {', '.join(sorted(clash))}")
    for what, names in (("choices", set(template.choices)), ("required_if", set(template.required_if)),
                        ("types", set(template.types))):
        unknown = names - declared
        if unknown:
            raise TemplateDefinitionError(f"{where}: {what} for undeclared names: {', '.join(sorted(unknown))}")
    for name, condition in template.required_if.items():
        if name not in template.optional:
            raise TemplateDefinitionError(f"{where}: required_if.{name} must be an optional name")
        unknown = set(condition) - declared
        if unknown:
            raise TemplateDefinitionError(f"{where}: required_if.{name} depends on undeclared {', '.join(unknown)}")
    for name, spec in template.types.items():
        _check_type_spec(name, spec)


def _check_sources(template: Template, where: str, environment: SandboxedEnvironment) -> None:
    declared = template.declared
    for part, source in template.sources.items():
        try:
            parsed = environment.parse(source)
        except TemplateSyntaxError as error:
            raise TemplateDefinitionError(f"{where}: {PARTS[part]} line {error.lineno}: {error.message}") from None
        used = meta.find_undeclared_variables(parsed) - RESERVED
        undeclared = used - declared
        if undeclared:
            raise TemplateDefinitionError(f"{where}: {PARTS[part]} uses undeclared personalisation "
                                          f"{', '.join(sorted(undeclared))}")


def check_template(template: Template, environment: SandboxedEnvironment | None = None) -> None:
    """Raise :class:`TemplateDefinitionError` unless the template is coherent:
    known channels, the files of each channel present and syntactically valid,
    every variable the sources use declared in the metadata."""
    if not isinstance(template.name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", template.name or ""):
        raise TemplateDefinitionError(f"invalid template name {template.name!r}")
    where = f"template {template.name}"
    _check_identity(template, where)
    _check_channels(template, where)
    _check_names(template, where)
    if environment is None:
        from .rendering import parsing_environment  # the renderer's filters; it imports this module

        environment = parsing_environment()
    _check_sources(template, where, environment)


class TemplateCatalog(Mapping[str, Template]):
    """Templates by name; :meth:`get_template` raises :class:`UnknownTemplate`."""

    def __init__(self, templates: Mapping[str, Template]):
        self._templates = dict(templates)

    def __getitem__(self, name: str) -> Template:
        return self._templates[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._templates))

    def __len__(self) -> int:
        return len(self._templates)

    def get_template(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise UnknownTemplate(name) from None
