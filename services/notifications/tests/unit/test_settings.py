"""Settings: the notifications section of the town settings and the environment, checked at start-up."""
import pytest

from guichet_notifications.clients.sms import BrevoSmsClient, FileSmsClient, RecordingSmsClient
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
    [(client, limiter)] = settings.sms_routes()
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
        settings.sms_routes()  # BREVO_KEY is not set
    import os
    os.environ["BREVO_KEY"] = "secret"
    try:
        routes = settings.sms_routes()
    finally:
        del os.environ["BREVO_KEY"]
    assert isinstance(routes[0][0], BrevoSmsClient) and routes[0][1] is not None
    assert isinstance(routes[1][0], FileSmsClient)
    test_mode = load_settings(town, {"GUICHET_NOTIFICATIONS_TEST_MODE": "true"})
    assert isinstance(test_mode.sms_routes()[0][0], RecordingSmsClient)


@pytest.mark.parametrize("section, env", [
    ({"unknown": 1}, {}),
    ({"sms_providers": [{"type": "pigeon"}]}, {}),
    ({}, {"GUICHET_NOTIFICATIONS_SMTP_SECURITY": "ssl"}),
    ({}, {"GUICHET_NOTIFICATIONS_TEST_MODE": "peut-être"}),
])
def test_invalid_settings_stop_the_start(section, env):
    with pytest.raises(SettingsError):
        load_settings({**TOWN, "notifications": section}, env)
