"""Settings of the notifications service: environment variables (SMTP, timings)
and the ``notifications`` section of the town settings (SMS providers, test
mode, sender), read and validated at start-up; ``bootstrap.build`` wires the
clients and the application from them.

Town settings, ``notifications`` section (every key optional)::

    notifications:
      test_mode: false            # true: nothing leaves, everything is recorded as delivered
      from_address: ne-pas-repondre@ville.example   # default: GUICHET_NOTIFICATIONS_SMTP_FROM
      reply_to: mairie@ville.example
      unsubscribe_url: https://api.ville.example/api/v1/notifications/unsubscribe   # see below
      unsubscribe_mailto: mairie@ville.example   # also in List-Unsubscribe (manual handling)
      unsubscribe_link_days: 365  # how long an unsubscribe link stays valid
      sms_transliterate: false
      sms_max_segments: 3
      sms_allow_international: false
      smtp_rate_per_second: 50    # rate limit of the SMTP relay (0: none)
      sms_providers:              # tried in this order (failover)
        - {type: brevo, name: brevo, endpoint: https://api.brevo.com/v3/transactionalSMS/send,
           api_key_env: GUICHET_NOTIFICATIONS_BREVO_API_KEY, sender: ROUBAIX, rate_per_second: 10,
           report_secret_env: GUICHET_NOTIFICATIONS_BREVO_REPORT_SECRET}   # delivery reports, see below
        - {type: file, name: dev-file, path: ./var/sms.jsonl}
      retry: {max_attempts: 8, base_delay: 30, multiplier: 3, max_delay: 3600}

Without ``sms_providers`` SMS are written to ``$GUICHET_DATA_DIR/sms.jsonl``
(the development provider; ``guichet sms`` and the mail catcher read the same
file, see ``guichet_common.smsfile``).

Delivery reports (HTTP providers): with ``report_secret_env`` (the variable
holding a secret of 32 characters at least; ``report_secret`` inline for
tests) each SMS is sent with a callback URL,
``<public_url>/api/v1/notifications/sms-reports/<name>?token=<secret>``
(``report_url`` replaces the part before ``?token=`` when the API is served
elsewhere; https only), and the SMS stays ``sending`` until the provider's
report makes it ``delivered`` or a failure. Without a secret no callback is
given and an accepted SMS ends as ``sent``. The gateway forwards each report to
the ``sms_delivery_report`` RPC, which checks the secret (constant time): only
the notifications service needs the variable.

Unsubscribe links (non-essential emails): ``<base>?token=<signed token>`` in
``List-Unsubscribe`` (with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)
and in the footer. The base is the gateway's
``<public_url>/api/v1/notifications/unsubscribe``; ``unsubscribe_url``
overrides it when the API is not served under ``public_url`` (another host, a
reverse proxy path): it must lead to that same gateway route, which answers
the one-click ``POST`` and shows a confirmation page on ``GET``. The token is
signed with ``GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET`` (several,
comma-separated: the first signs, all verify); unset, a random secret is made
once and kept in ``$GUICHET_DATA_DIR/keys/notifications-unsubscribe.secret``
(development: replicas that do not share that directory must get the variable).
Without a usable https base (plain http is accepted for a loopback host only),
the ``mailto:`` (``unsubscribe_mailto``, else the town's contact email) is the
only way out, as before.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import fields, validate

from guichet_common import clock
from guichet_common import town as town_settings

from .adapters.email import EmailIdentity, SmtpConfig
from .adapters.sms import BrevoSmsClient
from .domain import reports
from .domain.delivery import RetryPolicy
from .domain.templates import TownBranding
from .domain.unsubscribe import MIN_SECRET_BYTES, usable_one_click_url

UNSUBSCRIBE_SECRET_VARIABLE = "GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET"
LEASE_VARIABLE = "GUICHET_NOTIFICATIONS_LEASE_SECONDS"
UNSUBSCRIBE_ROUTE = "/api/v1/notifications/unsubscribe"


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class SmsProvider(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(["brevo", "file"]))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    endpoint = fields.Url(load_default=BrevoSmsClient.DEFAULT_ENDPOINT, require_tld=False)
    api_key = fields.String(load_default=None)
    api_key_env = fields.String(load_default=None)
    sender = fields.String(load_default="MAIRIE")
    path = fields.String(load_default=None)
    rate_per_second = fields.Float(load_default=0, validate=validate.Range(min=0))
    connect_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1))
    read_timeout = fields.Float(load_default=15.0, validate=validate.Range(min=0.1))
    report_secret = fields.String(load_default=None)
    report_secret_env = fields.String(load_default=None)
    report_url = fields.Url(load_default=None, schemes={"https"})


class Retry(_Strict):
    max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=50))
    base_delay = fields.Float(load_default=30.0, validate=validate.Range(min=0))
    multiplier = fields.Float(load_default=3.0, validate=validate.Range(min=1))
    max_delay = fields.Float(load_default=3600.0, validate=validate.Range(min=0))


class NotificationsSection(_Strict):
    test_mode = fields.Boolean(load_default=False)
    from_address = fields.Email(load_default=None, allow_none=True)
    from_name = fields.String(load_default=None, allow_none=True)
    reply_to = fields.Email(load_default=None, allow_none=True)
    unsubscribe_url = fields.Url(load_default=None, allow_none=True, schemes={"https"})
    unsubscribe_mailto = fields.Email(load_default=None, allow_none=True)
    unsubscribe_link_days = fields.Integer(load_default=365, validate=validate.Range(min=1, max=3660))
    sms_transliterate = fields.Boolean(load_default=False)
    sms_max_segments = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))
    sms_allow_international = fields.Boolean(load_default=False)
    smtp_rate_per_second = fields.Float(load_default=0, validate=validate.Range(min=0))
    sms_providers = fields.List(fields.Nested(SmsProvider), load_default=list)
    retry = fields.Nested(Retry, load_default=lambda: Retry().load({}))


class SettingsError(ValueError):
    pass


def _env(environ, name, default=None):
    value = environ.get(name)
    return default if value in (None, "") else value


@dataclass
class NotificationSettings:
    branding: TownBranding
    identity: EmailIdentity
    smtp: SmtpConfig
    section: dict
    retry: RetryPolicy
    retention_days: int
    data_dir: Path
    poll_interval: float = 1.0
    batch_size: int = 50
    concurrency: int = 8
    purge_interval: float = 3600.0
    lease_seconds: float = 20.0
    """How long a batch of due notifications stays with the process that took it without a renewal (it renews
    every third of it while it works): after a crash, its mails wait at most this long for another process."""
    zone: ZoneInfo = field(default_factory=lambda: clock.zone_info(clock.DEFAULT_ZONE))
    """The town's time zone (town settings, ``timezone``): dates and times in messages are shown in it."""
    unsubscribe_secrets: tuple[bytes, ...] = ()
    """From GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET; empty: the development secret file."""
    extra: dict = field(default_factory=dict)
    environ: dict = field(default_factory=lambda: dict(os.environ), repr=False)
    """The environment the settings were read from (for the variables named in the town settings)."""

    @property
    def test_mode(self) -> bool:
        return bool(self.section["test_mode"])

    @property
    def unsubscribe_base_url(self) -> str | None:
        """Where unsubscribe links point (their token added), or None when no usable one-click URL exists."""
        url = self.section.get("unsubscribe_url")
        if not url and self.branding.portal_url:
            url = self.branding.portal_url.rstrip("/") + UNSUBSCRIBE_ROUTE
        return url if usable_one_click_url(url) else None

    @property
    def unsubscribe_mailto(self) -> str | None:
        """The ``mailto:`` of List-Unsubscribe: the configured one; the town's contact email only as
        the last resort (no one-click URL), since someone at the town hall must then act by hand."""
        return self.section.get("unsubscribe_mailto") or (None if self.unsubscribe_base_url else self.branding.email)

    def sms_report_secrets(self) -> dict[str, tuple[str, ...]]:
        """``{provider name: secrets}`` of the providers whose delivery reports are accepted."""
        return report_secrets(self.section, self.environ)

    def report_callback(self, provider: dict, name: str) -> str | None:
        """The URL given to ``provider`` with each SMS for its delivery reports (its secret in it), or None
        when the entry has no report secret."""
        secrets_ = provider_secrets(provider, name, self.environ)
        if not secrets_:
            return None
        url = provider.get("report_url") or (reports.default_report_url(self.branding.portal_url, name)
                                             if self.branding.portal_url else None)
        if not url or not url.startswith("https://"):
            raise SettingsError(f"SMS provider {name}: delivery reports need an https public_url or report_url "
                                "(the provider posts them from the Internet)")
        return reports.callback_url(url, secrets_[0])


def parse_secrets(value: str) -> tuple[bytes, ...]:
    """GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET: one or more comma-separated secrets of 32 bytes at least."""
    items = tuple(item.strip().encode("utf-8") for item in value.split(",") if item.strip())
    if not items or any(len(item) < MIN_SECRET_BYTES for item in items):
        raise SettingsError(f"{UNSUBSCRIBE_SECRET_VARIABLE}: each secret needs {MIN_SECRET_BYTES} characters at "
                            "least (e.g. openssl rand -hex 32)")
    return items


REPORTING_TYPES = ("brevo",)
"""The provider types that post delivery reports."""
MIN_REPORT_SECRET_LENGTH = 32


def provider_name(provider: Mapping, index: int) -> str:
    """The name of the ``index``-th (0-based) entry of ``sms_providers``: its ``name``, else ``<type>-<n>``."""
    return provider.get("name") or f"{provider.get('type')}-{index + 1}"


def _report_secrets_of(value: str, *, where: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in str(value).split(",") if item.strip())
    if not items or any(len(item) < MIN_REPORT_SECRET_LENGTH for item in items):
        raise SettingsError(f"{where}: each report secret needs {MIN_REPORT_SECRET_LENGTH} characters at least "
                            "(e.g. openssl rand -hex 32)")
    return items


def provider_secrets(provider: Mapping, name: str, environ: Mapping) -> tuple[str, ...]:
    """The report secrets of one provider entry (several during a rotation); empty when it has none."""
    if provider.get("report_secret"):
        return _report_secrets_of(provider["report_secret"], where=f"SMS provider {name}: report_secret")
    variable = provider.get("report_secret_env")
    if not variable:
        return ()
    value = environ.get(variable)
    if not value:
        raise SettingsError(f"SMS provider {name}: report_secret_env names {variable}, which is not set")
    return _report_secrets_of(value, where=variable)


def report_secrets(section: Mapping, environ: Mapping) -> dict[str, tuple[str, ...]]:
    """``{provider name: secrets}`` of the providers that take delivery reports."""
    found = {}
    for index, provider in enumerate(section.get("sms_providers") or ()):
        if not isinstance(provider, Mapping) or provider.get("type") not in REPORTING_TYPES:
            continue
        name = provider_name(provider, index)
        secrets_ = provider_secrets(provider, name, environ)
        if secrets_:
            found[name] = secrets_
    return found


def branding_from_town(town: dict) -> TownBranding:
    contact = town.get("contact") or {}
    branding = town.get("branding") or {}
    return TownBranding(
        name=town["name"], logo_url=branding.get("logo_url"), address=contact.get("address") or None,
        phone=contact.get("phone") or None, email=contact.get("email") or None,
        website=contact.get("website") or None, opening_hours=contact.get("opening_hours") or (),
        portal_url=town.get("public_url"))


def _default_from(town: dict) -> str:
    host = (urlsplit(town.get("public_url") or "").hostname or "").lower()
    if "." in host and not host.replace(".", "").isdigit():
        return f"ne-pas-repondre@{host}"
    return "ne-pas-repondre@guichet.invalid"


MIN_LEASE_SECONDS = 1.0


def _lease_seconds(environ) -> float:
    try:
        value = float(_env(environ, LEASE_VARIABLE, "20"))
    except ValueError:
        value = float("nan")
    if not MIN_LEASE_SECONDS <= value < float("inf"):  # also refuses nan
        raise SettingsError(f"{LEASE_VARIABLE}: a number of seconds, {MIN_LEASE_SECONDS:g} at least")
    return value


def load_settings(town: dict | None = None, environ=None) -> NotificationSettings:
    environ = os.environ if environ is None else environ
    if town is None:
        town = town_settings.current_town(environ.get("GUICHET_TOWN_SETTINGS") or None)
    try:
        section = NotificationsSection().load(town.get("notifications") or {})
    except ma.ValidationError as error:
        raise SettingsError(f"town settings, notifications section: {error.messages}") from error
    test_mode = _env(environ, "GUICHET_NOTIFICATIONS_TEST_MODE")
    if test_mode is not None:
        if test_mode.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError("GUICHET_NOTIFICATIONS_TEST_MODE: true or false")
        section["test_mode"] = test_mode.lower() in ("true", "1", "yes")
    try:
        retry = dict(section["retry"])
        if _env(environ, "GUICHET_NOTIFICATIONS_RETRY_BASE_DELAY") is not None:
            retry["base_delay"] = float(environ["GUICHET_NOTIFICATIONS_RETRY_BASE_DELAY"])
        policy = RetryPolicy(**retry)
        smtp = SmtpConfig(
            host=_env(environ, "GUICHET_NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
            port=int(_env(environ, "GUICHET_NOTIFICATIONS_SMTP_PORT", "25")),
            security=_env(environ, "GUICHET_NOTIFICATIONS_SMTP_SECURITY", "none"),
            username=_env(environ, "GUICHET_NOTIFICATIONS_SMTP_USERNAME"),
            password=_env(environ, "GUICHET_NOTIFICATIONS_SMTP_PASSWORD"),
            timeout=float(_env(environ, "GUICHET_NOTIFICATIONS_SMTP_TIMEOUT", "10")),
            max_idle_connections=int(_env(environ, "GUICHET_NOTIFICATIONS_CONCURRENCY", "8")),
        )
        branding = branding_from_town(town)
        identity = EmailIdentity(
            address=_env(environ, "GUICHET_NOTIFICATIONS_SMTP_FROM") or section["from_address"] or _default_from(town),
            name=section["from_name"] or branding.name, reply_to=section["reply_to"])
        return NotificationSettings(
            branding=branding, identity=identity, smtp=smtp, section=section, retry=policy,
            retention_days=int((town.get("retention") or {}).get("notification_content_days", 90)),
            data_dir=Path(_env(environ, "GUICHET_DATA_DIR", "./var")),
            poll_interval=float(_env(environ, "GUICHET_NOTIFICATIONS_POLL_INTERVAL", "1")),
            concurrency=int(_env(environ, "GUICHET_NOTIFICATIONS_CONCURRENCY", "8")),
            lease_seconds=_lease_seconds(environ),
            zone=clock.zone_info(town.get("timezone") or clock.DEFAULT_ZONE),
            unsubscribe_secrets=(parse_secrets(environ[UNSUBSCRIBE_SECRET_VARIABLE])
                                 if _env(environ, UNSUBSCRIBE_SECRET_VARIABLE) else ()),
            environ=dict(environ),
        )
    except (ValueError, TypeError) as error:
        raise SettingsError(f"notifications settings: {error}") from error
