"""The one wiring place of the notifications service: the application object from the town settings, the
database and the adapters. ``service.py`` uses it as ``app = ApplicationProvider(bootstrap.build)``."""
from __future__ import annotations

import datetime as dt
import os

from guichet_common import smsfile
from guichet_common.db import Database

from .adapters.email import EmailClient, RateLimitedEmailClient, SmtpEmailClient, TestModeEmailClient
from .adapters.keys import KeyFileError, development_secret
from .adapters.sms import BrevoSmsClient, FailoverSmsClient, FileSmsClient, HttpSmsConfig, SmsClient, TestModeSmsClient
from .adapters.template_files import load_layouts, load_templates
from .application import Context, LoopSettings, Notifier
from .domain.rate_limit import RateLimiter
from .domain.rendering import TemplateRenderer
from .domain.unsubscribe import UnsubscribeLinks, UnsubscribeTokens
from .settings import UNSUBSCRIBE_SECRET_VARIABLE, NotificationSettings, SettingsError, load_settings, provider_name


def email_client(settings: NotificationSettings) -> EmailClient:
    if settings.test_mode:
        return TestModeEmailClient(settings.identity)
    client: EmailClient = SmtpEmailClient(settings.smtp, settings.identity)
    rate = settings.section.get("smtp_rate_per_second")
    if rate:
        client = RateLimitedEmailClient(client, RateLimiter(rate), max_wait=1.0)
    return client


def _http_provider(settings: NotificationSettings, provider: dict, name: str) -> SmsClient:
    key = provider.get("api_key") or (os.environ.get(provider["api_key_env"]) if provider.get("api_key_env") else None)
    if not key:
        raise SettingsError(f"SMS provider {name}: api_key or api_key_env is required")
    callback = settings.report_callback(provider, name)
    try:
        return BrevoSmsClient(HttpSmsConfig(endpoint=provider["endpoint"], api_key=key, sender=provider["sender"],
                                            name=name, connect_timeout=provider["connect_timeout"],
                                            read_timeout=provider["read_timeout"], status_callback_url=callback))
    except ValueError as error:
        raise SettingsError(f"SMS provider {name}: {error}") from error


def sms_routes(settings: NotificationSettings) -> list[tuple[SmsClient, RateLimiter | None]]:
    """``(client, limiter)`` pairs in priority order (failover)."""
    if settings.test_mode:
        return [(TestModeSmsClient(), None)]
    providers = settings.section["sms_providers"] or [{"type": "file", "name": "dev-file", "path": None,
                                                        "rate_per_second": 0}]
    routes = []
    for index, provider in enumerate(providers):
        name = provider_name(provider, index)
        if provider["type"] == "file":
            path = provider.get("path") or smsfile.default_path(settings.data_dir, settings.environ)
            client: SmsClient = FileSmsClient(path, name=name)
        else:
            client = _http_provider(settings, provider, name)
        limiter = RateLimiter(provider["rate_per_second"]) if provider.get("rate_per_second") else None
        routes.append((client, limiter))
    return routes


def unsubscribe_tokens(settings: NotificationSettings) -> UnsubscribeTokens:
    """Signed with GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET, else the development secret of the data directory."""
    try:
        secrets = list(settings.unsubscribe_secrets) or [development_secret(settings.data_dir,
                                                                            UNSUBSCRIBE_SECRET_VARIABLE)]
    except KeyFileError as error:
        raise SettingsError(str(error)) from error
    return UnsubscribeTokens(secrets, max_age=dt.timedelta(days=settings.section["unsubscribe_link_days"]))


def renderer(settings: NotificationSettings) -> TemplateRenderer:
    return TemplateRenderer(settings.branding, load_layouts(), sms_transliterate=settings.section["sms_transliterate"],
                            sms_max_segments=settings.section["sms_max_segments"], zone=settings.zone)


def build(database: Database, settings: NotificationSettings | None = None) -> Notifier:
    """The application of one service process; invalid settings raise :class:`SettingsError` (the service
    does not start)."""
    settings = settings or load_settings()
    context = Context(
        database=database, catalog=load_templates(), renderer=renderer(settings),
        email_client=email_client(settings), sms_client=FailoverSmsClient(sms_routes(settings)),
        unsubscribe=UnsubscribeLinks(settings.unsubscribe_base_url, settings.unsubscribe_mailto,
                                     unsubscribe_tokens(settings)),
        retry=settings.retry, retention_days=settings.retention_days,
        allow_international=settings.section["sms_allow_international"],
        lease=dt.timedelta(seconds=settings.lease_seconds), sms_report_secrets=settings.sms_report_secrets())
    return Notifier(context, LoopSettings(poll_interval=settings.poll_interval, batch_size=settings.batch_size,
                                          concurrency=settings.concurrency, purge_interval=settings.purge_interval))
