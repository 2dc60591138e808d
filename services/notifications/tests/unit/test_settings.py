"""Settings: the notifications section of the town settings and the environment, checked at start-up."""
import datetime as dt

import pytest

from guichet_common.db import Database
from guichet_notifications import bootstrap
from guichet_notifications.adapters.sms import BrevoSmsClient, FileSmsClient, RecordingSmsClient
from guichet_notifications.models import metadata
from guichet_notifications.settings import SettingsError, load_settings

TOWN = {"name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.example",
        "contact": {"phone": "03 20 00 00 00"}, "branding": {"logo_url": None}, "retention": {
            "notification_content_days": 30}}


def test_defaults_from_the_town(tmp_path):
    settings = load_settings({**TOWN, "notifications": {}}, {"GUICHET_DATA_DIR": str(tmp_path)})
    assert settings.identity.address == "ne-pas-repondre@ville.example"
    assert settings.identity.name == "Ville de Test" and settings.branding.phone == "03 20 00 00 00"
    assert settings.smtp.host == "127.0.0.1" and settings.smtp.security == "none"
    assert settings.retention_days == 30 and not settings.test_mode
    [(client, limiter)] = bootstrap.sms_routes(settings)
    assert isinstance(client, FileSmsClient) and limiter is None


def test_environment_and_providers(tmp_path):
    town = {**TOWN, "notifications": {"sms_providers": [
        {"type": "brevo", "api_key_env": "BREVO_KEY", "sender": "VILLE", "rate_per_second": 5},
        {"type": "file", "path": str(tmp_path / "sms.jsonl")}]}}
    env = {"GUICHET_NOTIFICATIONS_SMTP_HOST": "smtp.ville.example", "GUICHET_NOTIFICATIONS_SMTP_PORT": "587",
           "GUICHET_NOTIFICATIONS_SMTP_SECURITY": "starttls", "GUICHET_NOTIFICATIONS_SMTP_USERNAME": "u",
           "GUICHET_NOTIFICATIONS_SMTP_PASSWORD": "p", "GUICHET_NOTIFICATIONS_SMTP_FROM": "mairie@ville.example",
           "GUICHET_NOTIFICATIONS_RETRY_BASE_DELAY": "0.5"}
    settings = load_settings(town, env)
    assert (settings.smtp.port, settings.smtp.security, settings.smtp.username) == (587, "starttls", "u")
    assert settings.identity.address == "mairie@ville.example" and settings.retry.base_delay == 0.5
    with pytest.raises(SettingsError):
        bootstrap.sms_routes(settings)  # BREVO_KEY is not set
    import os
    os.environ["BREVO_KEY"] = "secret"
    try:
        routes = bootstrap.sms_routes(settings)
    finally:
        del os.environ["BREVO_KEY"]
    assert isinstance(routes[0][0], BrevoSmsClient) and routes[0][1] is not None
    assert isinstance(routes[1][0], FileSmsClient)
    test_mode = load_settings(town, {"GUICHET_NOTIFICATIONS_TEST_MODE": "true"})
    assert isinstance(bootstrap.sms_routes(test_mode)[0][0], RecordingSmsClient)


@pytest.mark.parametrize("section, env", [
    ({"unknown": 1}, {}),
    ({"sms_providers": [{"type": "pigeon"}]}, {}),
    ({}, {"GUICHET_NOTIFICATIONS_SMTP_SECURITY": "ssl"}),
    ({}, {"GUICHET_NOTIFICATIONS_TEST_MODE": "peut-être"}),
    ({}, {"GUICHET_NOTIFICATIONS_LEASE_SECONDS": "0.5"}),
    ({}, {"GUICHET_NOTIFICATIONS_LEASE_SECONDS": "trente"}),
    ({}, {"GUICHET_NOTIFICATIONS_LEASE_SECONDS": "nan"}),
])
def test_invalid_settings_stop_the_start(section, env):
    with pytest.raises(SettingsError):
        load_settings({**TOWN, "notifications": section}, env)


def test_the_lease_is_short_by_default_and_set_by_its_variable(tmp_path):
    default = load_settings(TOWN, {"GUICHET_DATA_DIR": str(tmp_path)})
    assert default.lease_seconds == 20
    settings = load_settings(TOWN, {"GUICHET_DATA_DIR": str(tmp_path), "GUICHET_NOTIFICATIONS_LEASE_SECONDS": "12",
                                    "GUICHET_NOTIFICATIONS_TEST_MODE": "true"})
    database = Database("notifications", f"sqlite:///{tmp_path / 'n.sqlite3'}", metadata)
    try:
        app = bootstrap.build(database, settings)
    finally:
        database.dispose()
    assert app.ctx.lease == dt.timedelta(seconds=12) and app.delivery.leases.renew_every == 4
    with pytest.raises(SettingsError, match="GUICHET_NOTIFICATIONS_LEASE_SECONDS"):
        load_settings(TOWN, {"GUICHET_NOTIFICATIONS_LEASE_SECONDS": "0"})


def test_unsubscribe_links_point_at_the_gateway_under_the_public_url_unless_overridden(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path)}
    settings = load_settings({**TOWN, "contact": {"email": "mairie@ville.example"}}, env)
    assert settings.unsubscribe_base_url == "https://ville.example/api/v1/notifications/unsubscribe"
    assert settings.unsubscribe_mailto is None  # one-click is there: no mail for the town hall to process by hand
    override = load_settings({**TOWN, "notifications": {
        "unsubscribe_url": "https://api.ville.example/api/v1/notifications/unsubscribe",
        "unsubscribe_mailto": "desinscription@ville.example"}}, env)
    assert override.unsubscribe_base_url == "https://api.ville.example/api/v1/notifications/unsubscribe"
    assert override.unsubscribe_mailto == "desinscription@ville.example"
    development = load_settings({**TOWN, "public_url": "http://127.0.0.1:8000"}, env)
    assert development.unsubscribe_base_url == "http://127.0.0.1:8000/api/v1/notifications/unsubscribe"
    plain_http = load_settings({**TOWN, "public_url": "http://ville.example", "contact": {
        "email": "mairie@ville.example"}}, env)
    assert plain_http.unsubscribe_base_url is None  # RFC 8058 needs https: the mailto is the way out
    assert plain_http.unsubscribe_mailto == "mairie@ville.example"
    with pytest.raises(SettingsError):
        load_settings({**TOWN, "notifications": {"unsubscribe_url": "http://ville.example/x"}}, env)
    with pytest.raises(SettingsError):
        load_settings({**TOWN, "notifications": {"unsubscribe_link_days": 0}}, env)


def test_the_unsubscribe_secret_comes_from_the_environment(tmp_path):
    from datetime import datetime, timezone

    from guichet_notifications.domain.unsubscribe import UnsubscribeTokens

    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    first, second = "a" * 64, "b" * 40
    settings = load_settings(TOWN, {"GUICHET_DATA_DIR": str(tmp_path),
                                    "GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET": f"{first}, {second}"})
    tokens = bootstrap.unsubscribe_tokens(settings)
    old = UnsubscribeTokens([second.encode()]).issue("account:a", now)
    assert tokens.verify(old, now) == "account:a"  # rotation: the second secret still verifies
    assert UnsubscribeTokens([first.encode()]).verify(tokens.issue("account:a", now), now) == "account:a"
    assert tokens.max_age.days == 365
    assert not (tmp_path / "keys").exists()  # nothing written when the variable is set
    for bad in ("court", f"{first},court"):
        with pytest.raises(SettingsError, match="GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET"):
            load_settings(TOWN, {"GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET": bad})


def test_without_the_variable_a_development_secret_is_made_once_in_the_data_directory(tmp_path):
    import stat
    from datetime import datetime, timezone

    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    town = {**TOWN, "notifications": {"unsubscribe_link_days": 30}}
    settings = load_settings(town, {"GUICHET_DATA_DIR": str(tmp_path)})
    token = bootstrap.unsubscribe_tokens(settings).issue("account:a", now)
    path = tmp_path / "keys" / "notifications-unsubscribe.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    again = bootstrap.unsubscribe_tokens(load_settings(town, {"GUICHET_DATA_DIR": str(tmp_path)}))  # a restart
    assert again.verify(token, now) == "account:a" and again.max_age.days == 30
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    elsewhere = bootstrap.unsubscribe_tokens(load_settings(town, {"GUICHET_DATA_DIR": str(tmp_path / "other")}))
    from guichet_notifications.domain.unsubscribe import InvalidUnsubscribeToken

    with pytest.raises(InvalidUnsubscribeToken):
        elsewhere.verify(token, now)


@pytest.mark.parametrize("providers", [None, [{"type": "file", "name": "dev-file"}], "explicit"])
def test_the_development_sms_file_is_where_guichet_sms_and_the_mail_catcher_look(tmp_path, providers):
    from guichet_common import smsfile
    from guichet_notifications.adapters.sms import OutgoingSms

    if providers == "explicit":
        providers = [{"type": "file", "name": "dev-file", "path": str(tmp_path / "ailleurs" / "sms.jsonl")}]
    town = {**TOWN, "notifications": {"sms_providers": providers} if providers else {}}
    data_dir = tmp_path / "var"
    [(client, _)] = bootstrap.sms_routes(load_settings(town, {"GUICHET_DATA_DIR": str(data_dir)}))
    client.send(OutgoingSms(to="+33612345678", text="Rappel : sortir vos encombrants", reference="n-1"))
    [path] = smsfile.sms_files(town, data_dir)  # where guichet sms and the mail catcher read
    [sms] = FileSmsClient(path).read()
    assert (sms["to"], sms["text"], sms["notification"]) == ("+33612345678", "Rappel : sortir vos encombrants", "n-1")


def test_the_file_provider_writes_where_guichet_sms_file_says(tmp_path):
    env = {"GUICHET_DATA_DIR": str(tmp_path / "var"), "GUICHET_SMS_FILE": str(tmp_path / "shared" / "sms.jsonl")}
    [(client, _)] = bootstrap.sms_routes(load_settings({**TOWN, "notifications": {}}, env))
    assert isinstance(client, FileSmsClient) and client.path == tmp_path / "shared" / "sms.jsonl"
