"""Rendering a template for one town: the Jinja sandbox, the French filters, email and SMS output.

Rendering is done in a :class:`jinja2.sandbox.SandboxedEnvironment` (the
sources will be editable by agents once they live in the database) with
``StrictUndefined``. Autoescaping is on for the HTML part only. The shared
layouts (``layout.txt.j2``, ``layout.html.j2``, ``macros.html.j2``) are given
as sources (``adapters/template_files.py`` reads them); they add the greeting,
the town's name, logo, address, phone, email, website and opening hours, and
the unsubscribe link of non-essential messages.

Template variables available besides the personalisation: ``town`` (a
:class:`~.templates.TownBranding`), ``unsubscribe_url`` and, in the HTML part,
``email_subject``. Filters: ``date_fr``, ``datetime_fr``, ``short_date``,
``time_fr``, ``month_fr``, ``euros``, ``url``, ``paragraphs``, ``de`` (elided
preposition: « de sortir », « d'apporter »).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from jinja2 import DictLoader, StrictUndefined, TemplateSyntaxError, UndefinedError, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from guichet_common import clock, money
from guichet_common.clock import Zone
from guichet_common.errors import FormattingError

from . import sms
from .personalisation import check_url, prepare_personalisation
from .templates import PARTS, ChannelNotInTemplate, Template, TemplateError, TemplateRenderError, TownBranding

NBSP = "\u00a0"


def _html(eval_ctx) -> bool:
    return bool(eval_ctx.autoescape)


def _formatting(function, **bound):
    def wrapper(value, *args, **kwargs):
        try:
            return function(value, *args, **bound, **kwargs)
        except FormattingError as error:
            raise TemplateRenderError(f"valeur impossible à mettre en forme : {error}") from None
    return wrapper


def _spaced(function, **bound):
    """A formatter whose spaces are no-break ones in the HTML part."""
    formatting = _formatting(function, **bound)

    @pass_eval_context
    def spaced(eval_ctx, value):
        return formatting(value, space=NBSP if _html(eval_ctx) else " ")
    return spaced


_VOWEL_START = re.compile(r"^[aeiouyhàâäéèêëîïôöùûüœæ]", re.IGNORECASE)


def _filter_de(value):
    """The preposition « de » elided before a vowel or a mute h:
    ``"sortir …" -> "de sortir …"``, ``"apporter …" -> "d'apporter …"``."""
    text = "" if value is None else str(value)
    return f"d'{text}" if _VOWEL_START.match(text) else f"de {text}"


def _filter_url(value):
    try:
        return check_url(value)
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


def _environment(layouts: Mapping[str, str], zone: Zone, *, autoescape: bool,
                 trim_blocks: bool = True) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=DictLoader(dict(layouts)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=trim_blocks,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update({
        "date_fr": _formatting(clock.format_date, zone=zone),
        "datetime_fr": _spaced(clock.format_datetime, zone=zone),
        "time_fr": _spaced(clock.format_time, zone=zone),
        "short_date": _formatting(clock.format_short_date, zone=zone),
        "month_fr": _formatting(clock.format_month, zone=zone),
        "euros": _spaced(money.format_euros),
        "url": _filter_url,
        "de": _filter_de,
        "paragraphs": _filter_paragraphs,
    })
    return env


def parsing_environment() -> SandboxedEnvironment:
    """The renderer's syntax and filters, without layouts: to check a template's sources."""
    return _environment({}, clock.DEFAULT_ZONE, autoescape=False)


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
    ``sms_max_segments``: longer SMS are refused (a permanent failure);
    ``zone``: the town's time zone (town settings), in which dates and times are shown.
    """

    def __init__(self, branding: TownBranding, layouts: Mapping[str, str], *, sms_transliterate: bool = False,
                 sms_max_segments: int = sms.DEFAULT_MAX_SEGMENTS, zone: Zone = clock.DEFAULT_ZONE):
        self.branding = branding
        self.sms_transliterate = sms_transliterate
        self.sms_max_segments = sms_max_segments
        self.zone = clock.zone_info(zone)
        self._text_env = _environment(layouts, self.zone, autoescape=False)
        self._html_env = _environment(layouts, self.zone, autoescape=True)
        # SMS sources are one flowing text written on several lines: every
        # newline becomes a space, block tags included (no trim_blocks).
        self._sms_env = _environment(layouts, self.zone, autoescape=False, trim_blocks=False)
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
        context = prepare_personalisation(template, personalisation, self.zone)
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
                unsubscribe_url = check_url(unsubscribe_url)
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
