"""SMS delivery reports: which SMS providers may post them, and the secret each must present.

An HTTP SMS provider (``type: brevo`` in the town settings'
``notifications.sms_providers``) posts a delivery report for every SMS it
accepted to the gateway route ``POST /api/v1/notifications/sms-reports/<name>``
(``<name>``: the provider entry's ``name``), once the entry has a report secret::

    sms_providers:
      - {type: brevo, name: brevo, api_key_env: GUICHET_NOTIFICATIONS_BREVO_API_KEY, sender: ROUBAIX,
         report_secret_env: GUICHET_NOTIFICATIONS_BREVO_REPORT_SECRET}

``report_secret_env`` names the environment variable holding the secret (as
``api_key_env`` does for the API key; ``report_secret`` inline is accepted
too, for tests). The secret is 32 characters at least (``openssl rand -hex
32``); several, comma-separated, during a rotation: the first is sent to the
provider, all are accepted.

The secret travels as the ``token`` query parameter of the callback URL the
notifications service gives the provider with each SMS
(``…/sms-reports/brevo?token=<secret>``): Brevo's per-message ``webUrl`` can
carry no header. The gateway's access log leaves query strings out.

Both the gateway (before any RPC) and the notifications service (again, in
the RPC) read the secrets with :func:`report_secrets` and compare with
:func:`token_matches` (constant time), so they always agree.
"""
from __future__ import annotations

import hmac
import os
from typing import Mapping
from urllib.parse import quote

from .errors import GuichetError, NotFound

ROUTE = "/api/v1/notifications/sms-reports"
TOKEN_PARAMETER = "token"
REPORTING_TYPES = ("brevo",)
MIN_SECRET_LENGTH = 32


class ReportSettingsError(ValueError):
    """A provider's report secret is configured but unusable (variable unset, too short)."""


class UnknownSmsProvider(NotFound):
    """No provider of that name takes delivery reports (unknown, or without a report secret)."""

    slug, title = "sms-provider-unknown", "Fournisseur SMS inconnu"
    detail = "Aucun fournisseur SMS de ce nom n'envoie de comptes rendus de remise à cette adresse."


class SmsReportForbidden(GuichetError):
    """The report's token is missing or is not the provider's secret."""

    slug, status, title = "sms-report-forbidden", 403, "Compte rendu refusé"
    detail = "Le jeton de ce compte rendu de remise SMS est absent ou invalide."


def provider_name(provider: Mapping, index: int) -> str:
    """The name of the ``index``-th (0-based) entry of ``sms_providers``: its ``name``, else ``<type>-<n>``."""
    return provider.get("name") or f"{provider.get('type')}-{index + 1}"


def parse_secrets(value: str, *, where: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in str(value).split(",") if item.strip())
    if not items or any(len(item) < MIN_SECRET_LENGTH for item in items):
        raise ReportSettingsError(f"{where}: each report secret needs {MIN_SECRET_LENGTH} characters at least "
                                  "(e.g. openssl rand -hex 32)")
    return items


def provider_secrets(provider: Mapping, name: str, environ: Mapping | None = None) -> tuple[str, ...]:
    """The report secrets of one provider entry; empty when it has none configured."""
    environ = os.environ if environ is None else environ
    if provider.get("report_secret"):
        return parse_secrets(provider["report_secret"], where=f"SMS provider {name}: report_secret")
    variable = provider.get("report_secret_env")
    if not variable:
        return ()
    value = environ.get(variable)
    if not value:
        raise ReportSettingsError(f"SMS provider {name}: report_secret_env names {variable}, which is not set")
    return parse_secrets(value, where=variable)


def report_secrets(town: Mapping | None, environ: Mapping | None = None) -> dict[str, tuple[str, ...]]:
    """``{provider name: secrets}`` of the providers that take delivery reports."""
    section = (town or {}).get("notifications") or {}
    found = {}
    for index, provider in enumerate(section.get("sms_providers") or ()):
        if not isinstance(provider, Mapping) or provider.get("type") not in REPORTING_TYPES:
            continue
        name = provider_name(provider, index)
        secrets = provider_secrets(provider, name, environ)
        if secrets:
            found[name] = secrets
    return found


def token_matches(secrets, token) -> bool:
    """Whether ``token`` is one of ``secrets``; every secret is compared, each in constant time."""
    if not isinstance(token, str) or not token:
        return False
    given = token.encode("utf-8")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, secret.encode("utf-8"))
    return matched


def check(secrets_by_provider: Mapping[str, tuple[str, ...]], provider: str, token) -> None:
    """:class:`UnknownSmsProvider` or :class:`SmsReportForbidden` unless ``token`` is ``provider``'s secret."""
    secrets = secrets_by_provider.get(provider)
    if not secrets:
        raise UnknownSmsProvider()
    if not token_matches(secrets, token):
        raise SmsReportForbidden()


def default_report_url(public_url: str, name: str) -> str:
    """The gateway route of ``name``'s reports under the town's ``public_url``."""
    return f"{public_url.rstrip('/')}{ROUTE}/{quote(name, safe='')}"


def callback_url(report_url: str, secret: str) -> str:
    """``report_url`` with the secret as its ``token`` query parameter: what the provider is given."""
    separator = "&" if "?" in report_url else "?"
    return f"{report_url}{separator}{TOKEN_PARAMETER}={quote(secret, safe='')}"
