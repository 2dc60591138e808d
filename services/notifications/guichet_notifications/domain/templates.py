"""French notification templates: loading, checking and rendering.

A template is data (``guichet_notifications/templates/<name>/``)::

    meta.yaml      name, version, description, channels, essential, security,
                   personalisation: required / optional / choices / required_if / types
    subject.txt.j2 email subject (one line)      \\
    body.txt.j2    email plain-text part         | when "email" is a channel
    body.html.j2   email HTML part               /
    sms.txt.j2     SMS text                      -- when "sms" is a channel

The email parts extend the shared layouts in ``templates/_layouts/``
(``layout.txt.j2``, ``layout.html.j2``), which add the greeting, the town's
name, logo, address, phone, email, website and opening hours, and the
unsubscribe link of non-essential messages.

Rendering is done in a :class:`jinja2.sandbox.SandboxedEnvironment` (the
sources will be editable by agents once they live in the database) with
``StrictUndefined``. Autoescaping is on for the HTML part only. Before
rendering, the personalisation is checked against the template's metadata,
so a missing value is reported with *every* missing name at once
(:class:`MissingPersonalisation`), a value of the wrong kind with its name
(:class:`InvalidPersonalisation`). Optional names that were not given are
``None`` in the template; names nobody declared are ignored, as in Notify.

Template variables available besides the personalisation: ``town`` (a
:class:`TownBranding`), ``unsubscribe_url`` and, in the HTML part,
``email_subject``. Filters: ``date_fr``, ``datetime_fr``, ``short_date``,
``time_fr``, ``month_fr``, ``euros``, ``url``, ``paragraphs``, ``de`` (elided
preposition: « de sortir », « d'apporter »).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, UndefinedError, meta, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from . import french, sms
from .delivery import PermanentFailure

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LAYOUTS_DIR = TEMPLATES_DIR / "_layouts"

CHANNELS = ("email", "sms")
PARTS = {"subject": "subject.txt.j2", "body_text": "body.txt.j2", "body_html": "body.html.j2", "sms": "sms.txt.j2"}
CHANNEL_PARTS = {"email": ("subject", "body_text", "body_html"), "sms": ("sms",)}

COMMON_OPTIONAL = ("display_name",)
"""Optional for every template: the recipient's name for the greeting."""

RESERVED = frozenset({"town", "unsubscribe_url", "email_subject"})
"""Names the renderer provides; a personalisation may not use them."""

TYPES = ("text", "integer", "date", "datetime", "month", "cents", "url", "list", "boolean")

NBSP = "\u00a0"


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


def check_template(template: Template, environment: "SandboxedEnvironment | None" = None) -> None:
    """Raise :class:`TemplateDefinitionError` unless the template is coherent:
    known channels, the files of each channel present and syntactically valid,
    every variable the sources use declared in the metadata."""
    if not isinstance(template.name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", template.name or ""):
        raise TemplateDefinitionError(f"invalid template name {template.name!r}")
    where = f"template {template.name}"
    if not isinstance(template.version, int) or isinstance(template.version, bool) or template.version < 1:
        raise TemplateDefinitionError(f"{where}: version must be a positive integer")
    if not isinstance(template.essential, bool):
        raise TemplateDefinitionError(f"{where}: essential must be true or false")
    if not template.description:
        raise TemplateDefinitionError(f"{where}: description is required")
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
    env = environment or _environment(autoescape=False)
    for part, source in template.sources.items():
        try:
            parsed = env.parse(source)
        except TemplateSyntaxError as error:
            raise TemplateDefinitionError(f"{where}: {PARTS[part]} line {error.lineno}: {error.message}") from None
        used = meta.find_undeclared_variables(parsed) - RESERVED
        undeclared = used - declared
        if undeclared:
            raise TemplateDefinitionError(f"{where}: {PARTS[part]} uses undeclared personalisation "
                                          f"{', '.join(sorted(undeclared))}")


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


def load_template(directory: Path) -> Template:
    directory = Path(directory)
    meta_path = directory / "meta.yaml"
    if not meta_path.is_file():
        raise TemplateDefinitionError(f"{directory}: meta.yaml is missing")
    try:
        with meta_path.open(encoding="utf-8") as fh:
            meta_data = yaml.safe_load(fh)
    except yaml.YAMLError as error:
        raise TemplateDefinitionError(f"{meta_path}: {error}") from None
    sources = {}
    for part, filename in PARTS.items():
        path = directory / filename
        if path.is_file():
            sources[part] = path.read_text(encoding="utf-8")
    template = template_from_meta(meta_data, sources)
    if template.name != directory.name:
        raise TemplateDefinitionError(f"{directory}: meta name {template.name!r} differs from the directory name")
    return template


def load_templates(directory: Path | str | None = None) -> TemplateCatalog:
    """Every template of ``directory`` (default: the templates shipped with the service)."""
    root = Path(directory) if directory is not None else TEMPLATES_DIR
    templates = {}
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and not sub.name.startswith(("_", ".")):
            template = load_template(sub)
            templates[template.name] = template
    return TemplateCatalog(templates)


# --- personalisation checks -------------------------------------------------------

def _convert(spec, value):
    """``value`` converted to what the template uses, or ValueError (French)."""
    if isinstance(spec, Mapping):  # rows
        if not isinstance(value, (list, tuple)):
            raise ValueError("liste attendue")
        rows = []
        for index, row in enumerate(value, start=1):
            if not isinstance(row, Mapping):
                raise ValueError(f"ligne {index} : objet attendu")
            converted = {}
            for column, column_spec in spec["rows"].items():
                optional = isinstance(column_spec, str) and column_spec.endswith("?")
                base = column_spec[:-1] if optional else column_spec
                if row.get(column) is None:
                    if not optional:
                        raise ValueError(f"ligne {index} : {column} manquant")
                    converted[column] = None
                    continue
                try:
                    converted[column] = _convert(base, row[column])
                except ValueError as error:
                    raise ValueError(f"ligne {index}, {column} : {error}") from None
            rows.append(converted)
        return rows
    if spec == "text":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("texte attendu")
        return str(value)
    if spec == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                return int(value)
            raise ValueError("nombre entier attendu")
        return value
    if spec == "boolean":
        if not isinstance(value, bool):
            raise ValueError("booléen attendu")
        return value
    if spec == "date":
        parsed = french.to_paris(value)
        return parsed.date() if isinstance(parsed, datetime) else parsed
    if spec == "datetime":
        return french.parse_temporal(value)
    if spec == "month":
        french.format_month(value)
        return value
    if spec == "cents":
        return french.parse_cents(value)
    if spec == "url":
        return _check_url(value)
    if spec == "list":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                            for v in value):
            raise ValueError("liste de textes attendue")
        return [str(v) for v in value]
    raise ValueError(f"type inconnu {spec}")  # pragma: no cover (checked at load time)


def _check_url(value) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s<>\"']+$", value.strip()):
        raise ValueError("adresse http(s) attendue")
    return value.strip()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or \
        (isinstance(value, (list, tuple, dict)) and not value)


def prepare_personalisation(template: Template, personalisation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The render context's personalisation part: checked, converted, optional
    names filled with ``None``, undeclared names dropped."""
    given = dict(personalisation or {})
    clash = set(given) & RESERVED
    if clash:
        raise InvalidPersonalisation({name: "nom réservé" for name in clash})
    missing = [name for name in template.required if _blank(given.get(name))]
    for name, condition in template.required_if.items():
        if all(given.get(key) in values for key, values in condition.items()) and _blank(given.get(name)):
            missing.append(name)
    if missing:
        raise MissingPersonalisation(missing)
    context: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in template.declared:
        value = given.get(name)
        if _blank(value):
            context[name] = None
            continue
        spec = template.types.get(name, "text")
        try:
            value = _convert(spec, value)
        except ValueError as error:
            errors[name] = str(error)
            continue
        if name in template.choices and value not in template.choices[name]:
            errors[name] = "valeur attendue parmi " + ", ".join(str(c) for c in template.choices[name])
            continue
        context[name] = value
    if errors:
        raise InvalidPersonalisation(errors)
    return context


# --- rendering --------------------------------------------------------------------

def _html(eval_ctx) -> bool:
    return bool(eval_ctx.autoescape)


def _formatting(function):
    def wrapper(value, *args, **kwargs):
        try:
            return function(value, *args, **kwargs)
        except french.FormattingError as error:
            raise TemplateRenderError(f"valeur impossible à mettre en forme : {error}") from None
    return wrapper


@pass_eval_context
def _filter_euros(eval_ctx, value):
    return _formatting(french.format_euros)(value, space=NBSP if _html(eval_ctx) else " ")


@pass_eval_context
def _filter_datetime(eval_ctx, value):
    return _formatting(french.format_datetime)(value, space=NBSP if _html(eval_ctx) else " ")


@pass_eval_context
def _filter_time(eval_ctx, value):
    return _formatting(french.format_time)(value, space=NBSP if _html(eval_ctx) else " ")


_VOWEL_START = re.compile(r"^[aeiouyhàâäéèêëîïôöùûüœæ]", re.IGNORECASE)


def _filter_de(value):
    """The preposition « de » elided before a vowel or a mute h:
    ``"sortir …" -> "de sortir …"``, ``"apporter …" -> "d'apporter …"``."""
    text = "" if value is None else str(value)
    return f"d'{text}" if _VOWEL_START.match(text) else f"de {text}"


def _filter_url(value):
    try:
        return _check_url(value)
    except ValueError:
        raise TemplateRenderError("lien invalide : adresse http(s) attendue") from None


@pass_eval_context
def _filter_paragraphs(eval_ctx, value):
    """Free text (an agent's message): paragraphs and line breaks kept, HTML escaped."""
    text = "" if value is None else str(value).replace("\r\n", "\n").strip()
    if not _html(eval_ctx):
        return text
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    return Markup("\n").join(Markup('<p style="margin:0 0 16px 0;">{}</p>').format(
        Markup("<br>\n").join(escape(line) for line in block.split("\n"))) for block in blocks)


def _environment(*, autoescape: bool, layouts_dir: Path | None = None,
                 trim_blocks: bool = True) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(layouts_dir or LAYOUTS_DIR)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=trim_blocks,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update({
        "date_fr": _formatting(french.format_date),
        "datetime_fr": _filter_datetime,
        "time_fr": _filter_time,
        "short_date": _formatting(french.format_short_date),
        "month_fr": _formatting(french.format_month),
        "euros": _filter_euros,
        "url": _filter_url,
        "de": _filter_de,
        "paragraphs": _filter_paragraphs,
    })
    return env


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderedSms:
    text: str
    info: sms.SmsInfo


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class TemplateRenderer:
    """Renders templates for one town.

    ``sms_transliterate``: strip accents that are not in GSM-7 (town setting);
    ``sms_max_segments``: longer SMS are refused (a permanent failure).
    """

    def __init__(self, branding: TownBranding, *, sms_transliterate: bool = False,
                 sms_max_segments: int = sms.DEFAULT_MAX_SEGMENTS, layouts_dir: Path | None = None):
        self.branding = branding
        self.sms_transliterate = sms_transliterate
        self.sms_max_segments = sms_max_segments
        self._text_env = _environment(autoescape=False, layouts_dir=layouts_dir)
        self._html_env = _environment(autoescape=True, layouts_dir=layouts_dir)
        # SMS sources are one flowing text written on several lines: every
        # newline becomes a space, block tags included (no trim_blocks).
        self._sms_env = _environment(autoescape=False, layouts_dir=layouts_dir, trim_blocks=False)
        self._compiled: dict[tuple[str, str, str], Any] = {}

    def _compile(self, template: Template, part: str):
        key = (template.name, template.checksum, part)
        compiled = self._compiled.get(key)
        if compiled is None:
            env = {"body_html": self._html_env, "sms": self._sms_env}.get(part, self._text_env)
            try:
                compiled = env.from_string(template.sources[part])
            except TemplateSyntaxError as error:
                raise TemplateRenderError(f"{PARTS[part]} ligne {error.lineno} : {error.message}") from None
            self._compiled[key] = compiled
        return compiled

    def _render(self, template: Template, part: str, context: Mapping[str, Any]) -> str:
        try:
            return self._compile(template, part).render(context)
        except TemplateError:
            raise
        except UndefinedError as error:
            raise TemplateRenderError(f"{PARTS[part]} : valeur manquante ou mal formée ({error.message})") from None
        except SecurityError as error:
            raise TemplateRenderError(f"{PARTS[part]} : opération interdite ({error})") from None
        except (TypeError, ValueError, ArithmeticError) as error:
            raise TemplateRenderError(f"{PARTS[part]} : {type(error).__name__}: {error}") from None

    def _context(self, template: Template, personalisation, **extra) -> dict[str, Any]:
        context = prepare_personalisation(template, personalisation)
        context.update(town=self.branding, unsubscribe_url=None, email_subject=None)
        context.update(extra)
        return context

    def render_email(self, template: Template, personalisation: Mapping[str, Any] | None = None, *,
                     unsubscribe_url: str | None = None) -> RenderedEmail:
        """Subject, plain text and HTML. ``unsubscribe_url`` is shown only for
        non-essential templates (essential messages cannot be opted out of)."""
        if "email" not in template.channels:
            raise ChannelNotInTemplate(template.name, "email")
        if unsubscribe_url is not None:
            try:
                unsubscribe_url = _check_url(unsubscribe_url)
            except ValueError:
                raise TemplateRenderError("lien de désinscription invalide") from None
        context = self._context(template, personalisation,
                                unsubscribe_url=None if template.essential else unsubscribe_url)
        subject = _one_line(self._render(template, "subject", context))
        if not subject:
            raise TemplateRenderError("objet du courriel vide")
        text = _tidy_text(self._render(template, "body_text", context))
        html = self._render(template, "body_html", {**context, "email_subject": subject}).strip() + "\n"
        return RenderedEmail(subject=subject, text=text, html=html)

    def render_sms(self, template: Template, personalisation: Mapping[str, Any] | None = None) -> RenderedSms:
        """The SMS text as it will be sent (normalised, and transliterated when
        the town allows it), with its encoding and segment count."""
        if "sms" not in template.channels:
            raise ChannelNotInTemplate(template.name, "sms")
        context = self._context(template, personalisation)
        raw = self._render(template, "sms", context)
        text = sms.prepare_text(_one_line_sms(raw), transliterate=self.sms_transliterate)
        info = sms.analyse(text)
        try:
            sms.check_length(info, self.sms_max_segments)
        except sms.SmsTooLong as error:
            raise TemplateError("message_too_long", str(error)) from None
        except ValueError as error:
            raise TemplateRenderError(str(error)) from None
        return RenderedSms(text=text, info=info)

    def render(self, template: Template, channel: str, personalisation: Mapping[str, Any] | None = None, *,
               unsubscribe_url: str | None = None) -> RenderedEmail | RenderedSms:
        if channel == "email":
            return self.render_email(template, personalisation, unsubscribe_url=unsubscribe_url)
        if channel == "sms":
            return self.render_sms(template, personalisation)
        raise ChannelNotInTemplate(template.name, channel)


def _one_line_sms(text: str) -> str:
    """An SMS is one line: source newlines, and the line breaks of values
    such as an agent's message, become single spaces (a line break costs a
    character and reads badly on a phone)."""
    return " ".join(text.split())
