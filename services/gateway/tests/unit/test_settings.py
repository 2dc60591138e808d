"""Gateway settings from the environment, validated at start-up."""
import pytest

from guichet_gateway.settings import GatewaySettings, SettingsError


def test_defaults():
    settings = GatewaySettings.from_env({})
    assert settings.ratelimit_storage_uri == "memory://"
    assert settings.ratelimit_default == "600/minute"
    assert settings.rpc_timeout == 5.0
    assert settings.ready_timeout == 2.0
    assert settings.services == ("accounts", "demarches", "billing", "activities", "notifications")


def test_values_from_the_environment():
    settings = GatewaySettings.from_env({
        "GUICHET_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "GUICHET_RATELIMIT_DEFAULT": "100/minute;10/second",
        "GUICHET_RPC_TIMEOUT": "3", "GUICHET_GATEWAY_READY_TIMEOUT": "1.5", "GUICHET_GATEWAY_TRUSTED_PROXIES": "1",
        "GUICHET_AMQP_URI": "amqp://u:p@rabbit/guichet"})
    assert settings.ratelimit_storage_uri == "redis://127.0.0.1:6379"
    assert settings.ratelimit_default == "100/minute;10/second"
    assert (settings.rpc_timeout, settings.ready_timeout, settings.trusted_proxies) == (3.0, 1.5, 1)
    assert settings.amqp_uri == "amqp://u:p@rabbit/guichet"


def test_rpc_guard_values_from_the_environment():
    settings = GatewaySettings.from_env({
        "GUICHET_GATEWAY_THREADS": "16", "GUICHET_GATEWAY_SERVICE_SHARE": "0.25",
        "GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL": "2", "GUICHET_GATEWAY_BREAKER_TIMEOUTS": "0",
        "GUICHET_GATEWAY_BREAKER_SECONDS": "10"})
    assert (settings.threads, settings.service_share, settings.service_check_interval) == (16, 0.25, 2.0)
    assert (settings.breaker_timeouts, settings.breaker_seconds) == (0, 10.0)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("GUICHET_RATELIMIT_DEFAULT", "beaucoup", "GUICHET_RATELIMIT_DEFAULT"),
    ("GUICHET_RATELIMIT_STORAGE_URI", "localhost", "GUICHET_RATELIMIT_STORAGE_URI"),
    ("GUICHET_GATEWAY_READY_TIMEOUT", "deux", "GUICHET_GATEWAY_READY_TIMEOUT"),
    ("GUICHET_GATEWAY_READY_TIMEOUT", "0", "GUICHET_GATEWAY_READY_TIMEOUT"),
    ("GUICHET_GATEWAY_TRUSTED_PROXIES", "-1", "GUICHET_GATEWAY_TRUSTED_PROXIES"),
    ("GUICHET_GATEWAY_THREADS", "0", "GUICHET_GATEWAY_THREADS"),
    ("GUICHET_GATEWAY_SERVICE_SHARE", "1.5", "GUICHET_GATEWAY_SERVICE_SHARE"),
    ("GUICHET_GATEWAY_SERVICE_SHARE", "moitié", "GUICHET_GATEWAY_SERVICE_SHARE"),
    ("GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL", "-1", "GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL"),
    ("GUICHET_GATEWAY_BREAKER_TIMEOUTS", "2.5", "GUICHET_GATEWAY_BREAKER_TIMEOUTS"),
    ("GUICHET_GATEWAY_BREAKER_SECONDS", "0", "GUICHET_GATEWAY_BREAKER_SECONDS"),
])
def test_bad_values_are_refused_naming_the_variable(name, value, message):
    with pytest.raises(SettingsError, match=message):
        GatewaySettings.from_env({name: value})
