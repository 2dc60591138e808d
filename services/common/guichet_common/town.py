"""Town settings: what differs between towns, read from one YAML file and validated at start-up.

Each service reads the sections it needs; the defaults reproduce the seeds'
behaviour so a town only writes what differs. Domain issues add their
sections here as they are built.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
import yaml
from marshmallow import fields, validate

DEFAULT_FILE = Path(__file__).resolve().parents[3] / "deploy" / "town.example.yaml"


class TownSettingsError(ValueError):
    pass


def _known_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ma.ValidationError("unknown time zone: an IANA name such as Europe/Paris is expected") from None


class _Section(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Contact(_Section):
    address = fields.String(load_default="")
    phone = fields.String(load_default="")
    email = fields.Email(load_default=None, allow_none=True)
    website = fields.Url(load_default=None, allow_none=True)
    opening_hours = fields.String(load_default="")


class Branding(_Section):
    logo_url = fields.Url(load_default=None, allow_none=True)
    primary_color = fields.String(load_default="#000091", validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))


class Retention(_Section):
    notification_content_days = fields.Integer(load_default=90, validate=validate.Range(min=1))
    draft_days = fields.Integer(load_default=180, validate=validate.Range(min=1))


class TownSettings(_Section):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    insee_code = fields.String(required=True, validate=validate.Regexp(r"^(\d{5}|2[AB]\d{3})$"))
    public_url = fields.Url(load_default="http://127.0.0.1:8000", require_tld=False)
    timezone = fields.String(load_default="Europe/Paris", validate=_known_time_zone)
    contact = fields.Nested(Contact, load_default=lambda: Contact().load({}))
    branding = fields.Nested(Branding, load_default=lambda: Branding().load({}))
    retention = fields.Nested(Retention, load_default=lambda: Retention().load({}))
    # Sections owned by the domain services; each validates its own at start-up.
    accounts = fields.Dict(load_default=dict)
    demarches = fields.Dict(load_default=dict)
    billing = fields.Dict(load_default=dict)
    activities = fields.Dict(load_default=dict)
    notifications = fields.Dict(load_default=dict)


def load_town(path: Path | str | None = None) -> dict:
    path = Path(path) if path else DEFAULT_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise TownSettingsError(f"town settings file not found: {path}") from error
    except yaml.YAMLError as error:
        raise TownSettingsError(f"town settings file {path} is not valid YAML: {error}") from error
    try:
        return TownSettings().load(raw)
    except ma.ValidationError as error:
        raise TownSettingsError(f"town settings file {path} is invalid: {error.messages}") from error


ENVIRONMENT_VARIABLE = "GUICHET_TOWN_SETTINGS"

# path -> (the file's stamp when read, its settings). Keyed by the file's modification time and size,
# so an edited file (a test's, or a town's after a redeploy) is read again without anyone clearing it.
_loaded: dict[str, tuple[tuple[int, int], dict]] = {}


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """The town settings file: ``GUICHET_TOWN_SETTINGS``, else the demo town."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_FILE)


def current_town(path: Path | str | None = None) -> dict:
    """The validated settings of the file at ``path`` (default: the demo town), read again when it changes."""
    path = Path(path) if path else DEFAULT_FILE
    key = str(path.resolve())
    try:
        info = path.stat()
    except OSError as error:
        raise TownSettingsError(f"town settings file not found: {path}") from error
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _loaded.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    settings = load_town(path)
    _loaded[key] = (stamp, settings)
    return settings


def town_settings(environ: Mapping[str, str] | None = None) -> dict:
    """The town settings of this process (the file named by ``GUICHET_TOWN_SETTINGS``)."""
    return current_town(settings_path(environ))
