"""The accounts settings read from the town settings."""
import datetime as dt

import pytest

from guichet_accounts.bootstrap import AccountsSettings


def test_the_accounts_section_and_the_towns_time_zone():
    settings = AccountsSettings.from_town({
        "public_url": "https://ville.test/", "timezone": "Indian/Reunion",
        "accounts": {"validation_by_town": True, "activation_ttl_hours": 24, "reset_ttl_minutes": 30}},
        environ={"GUICHET_ACCOUNTS_KEY_PASSPHRASE": "s3cret"})
    assert settings.public_url == "https://ville.test" and settings.rules.validation_by_town is True
    assert settings.activation_ttl == dt.timedelta(hours=24) and settings.reset_ttl == dt.timedelta(minutes=30)
    assert str(settings.timezone) == "Indian/Reunion" and settings.key_passphrase == b"s3cret"
    assert str(AccountsSettings.from_town({}, environ={}).timezone) == "Europe/Paris"


def test_an_unknown_accounts_setting_stops_the_service():
    with pytest.raises(ValueError, match="unknown registration setting"):
        AccountsSettings.from_town({"accounts": {"captha": False}}, environ={})
