"""The one wiring place of the accounts service: the town's settings, the adapters, the application object.

``build(database)`` is what the service's ``ApplicationProvider`` calls once per
container; the CLI and the demo loader call it too. Tests build an
``AccountsApplication`` directly with their own settings, hasher and clock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from zoneinfo import ZoneInfo

from eventlet import tpool

from guichet_common import clock, town
from guichet_common.db import Database

from .adapters.captcha_media import CaptchaMedia
from .adapters.hashing import offloaded_hasher
from .application import AccountsApplication
from .domain.initial_passwords import DEFAULT_LIFETIME as INITIAL_PASSWORD_LIFETIME
from .domain.registration import RegistrationRules
from .domain.tokens import ACCESS_TOKEN_TTL


@dataclasses.dataclass(frozen=True)
class AccountsSettings:
    rules: RegistrationRules = RegistrationRules()
    public_url: str = "http://127.0.0.1:8000"
    activation_ttl: dt.timedelta = dt.timedelta(hours=48)
    reset_ttl: dt.timedelta = dt.timedelta(hours=2)
    initial_password_ttl: dt.timedelta = INITIAL_PASSWORD_LIFETIME  # town-created accounts' printed password
    access_token_ttl: dt.timedelta = ACCESS_TOKEN_TTL
    key_passphrase: bytes | None = None
    timezone: ZoneInfo = clock.zone_info(clock.DEFAULT_ZONE)  # the town's: « Dernière connexion le … à … »

    OWN_KEYS = ("activation_ttl_hours", "reset_ttl_minutes", "initial_password_days")

    @classmethod
    def from_town(cls, settings: dict, environ=None) -> AccountsSettings:
        """The ``accounts`` section of the town settings: the registration rules plus link and initial password
        lifetimes."""
        environ = os.environ if environ is None else environ
        section = dict(settings.get("accounts") or {})
        own = {key: section.pop(key) for key in cls.OWN_KEYS if key in section}
        passphrase = environ.get("GUICHET_ACCOUNTS_KEY_PASSPHRASE")
        return cls(rules=RegistrationRules.from_mapping(section),
                   public_url=str(settings.get("public_url") or cls.public_url).rstrip("/"),
                   activation_ttl=dt.timedelta(hours=float(own.get("activation_ttl_hours", 48))),
                   reset_ttl=dt.timedelta(minutes=float(own.get("reset_ttl_minutes", 120))),
                   initial_password_ttl=_days(own, "initial_password_days", INITIAL_PASSWORD_LIFETIME),
                   key_passphrase=passphrase.encode() if passphrase else None,
                   timezone=clock.zone_info(settings.get("timezone") or clock.DEFAULT_ZONE))


def _days(own: dict, key: str, default: dt.timedelta) -> dt.timedelta:
    if key not in own:
        return default
    days = float(own[key])
    if days <= 0:
        raise ValueError(f"accounts.{key}: expected a positive number of days, got {own[key]!r}")
    return dt.timedelta(days=days)


def town_settings() -> AccountsSettings:
    """The accounts settings of the town the process serves (``GUICHET_TOWN_SETTINGS``)."""
    return AccountsSettings.from_town(town.town_settings())


def build(database: Database, settings: AccountsSettings | None = None) -> AccountsApplication:
    """The service's application: argon2 and the captcha audio run in eventlet's OS-thread pool, so the
    hub keeps serving other calls meanwhile (about 0.1 s and 0.3 s of CPU each)."""
    return AccountsApplication(database, settings or town_settings(), hasher=offloaded_hasher(),
                               media=CaptchaMedia(run=tpool.execute))


def for_operator(database: Database) -> AccountsApplication:
    """The application the CLI and the demo loader use: the town's settings, hashing in the calling thread."""
    return AccountsApplication(database, town_settings())
