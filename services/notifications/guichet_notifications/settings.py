"""Settings of the notifications service: environment variables (SMTP, timings)
and the ``notifications`` section of the town settings (SMS providers, test
mode, sender), validated at start-up.

Town settings, ``notifications`` section (every key optional)::

    notifications:
      test_mode: false            # true: nothing leaves, everything is recorded as delivered
      from_address: ne-pas-repondre@ville.example   # default: GUICHET_NOTIFICATIONS_SMTP_FROM
      reply_to: mairie@ville.example
      unsubscribe_url: https://ville.example/mon-compte/preferences
      unsubscribe_mailto: mairie@ville.example   # default: the town's contact email
      sms_transliterate: false
      sms_max_segments: 3
      sms_allow_international: false
      smtp_rate_per_second: 50    # rate limit of the SMTP relay (0: none)
      sms_providers:              # tried in this order (failover)
        - {type: brevo, name: brevo, endpoint: https://api.brevo.com/v3/transactionalSMS/send,
           api_key_env: GUICHET_NOTIFICATIONS_BREVO_API_KEY, sender: ROUBAIX, rate_per_second: 10}
        - {type: file, name: dev-file, path: ./var/sms.jsonl}
      retry: {max_attempts: 8, base_delay: 30, multiplier: 3, max_delay: 3600}

Without ``sms_providers`` SMS are written to ``$GUICHET_DATA_DIR/sms.jsonl``
(the development provider).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields, validate

from guichet_common import town as town_settings

from .clients.email import EmailIdentity, SmtpConfig
from .clients.sms import BrevoSmsClient, FileSmsClient, HttpSmsConfig, RecordingSmsClient
from .domain.delivery import RateLimiter, RetryPolicy
from .domain.templates import TownBranding


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
    sms_transliterate = fields.Boolean(load_default=False)
    sms_max_segments = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))
    sms_allow_international = fields.Boolean(load_default=False)
    smtp_rate_per_second = fields.Float(load_default=0, validate=validate.Range(min=0))
    sms_providers = fields.List(fields.Nested(SmsProvider), load_default=list)
    retry = fields.Nested(Retry, load_default=lambda: Retry().load({}))


class _TestModeSmsClient(RecordingSmsClient):
    """Test mode in a long-running process: keeps only the last messages in memory."""

    def send(self, message):
        receipt = super().send(message)
        with self._lock:
            del self.sent[:-100]
        return receipt


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
    lease_seconds: float = 300.0
    extra: dict = field(default_factory=dict)

    @property
    def test_mode(self) -> bool:
        return bool(self.section["test_mode"])

    def sms_routes(self) -> list:
        """``(client, limiter)`` pairs in priority order."""
        if self.test_mode:
            return [(_TestModeSmsClient(), None)]
        providers = self.section["sms_providers"] or [{"type": "file", "name": "dev-file", "path": None,
                                                        "rate_per_second": 0}]
        routes = []
        for index, provider in enumerate(providers):
            name = provider.get("name") or f"{provider['type']}-{index + 1}"
            if provider["type"] == "file":
                client = FileSmsClient(provider.get("path") or self.data_dir / "sms.jsonl", name=name)
            else:
                key = provider.get("api_key") or (os.environ.get(provider["api_key_env"])
                                                  if provider.get("api_key_env") else None)
                if not key:
                    raise SettingsError(f"SMS provider {name}: api_key or api_key_env is required")
                client = BrevoSmsClient(HttpSmsConfig(endpoint=provider["endpoint"], api_key=key,
                                                      sender=provider["sender"], name=name,
                                                      connect_timeout=provider["connect_timeout"],
                                                      read_timeout=provider["read_timeout"]))
            limiter = RateLimiter(provider["rate_per_second"]) if provider.get("rate_per_second") else None
            routes.append((client, limiter))
        return routes


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
        )
    except (ValueError, TypeError) as error:
        raise SettingsError(f"notifications settings: {error}") from error
