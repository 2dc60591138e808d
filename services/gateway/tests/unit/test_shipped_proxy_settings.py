"""Issue 11 item 1: with the Kubernetes settings as shipped, citizens behind the Ingress are told apart.

Without GUICHET_GATEWAY_TRUSTED_PROXIES every request seems to come from the Ingress's address: the
per-address limits (and the login throttle keyed on it) then apply to the whole town at once."""
from pathlib import Path

import yaml

from guichet_gateway import proxy_check
from guichet_gateway.settings import GatewaySettings

CONFIG_MAP = Path(__file__).resolve().parents[4] / "deploy" / "k8s" / "config.yaml"


def test_two_citizens_behind_the_ingress_have_their_own_counters(make_app):
    shipped = GatewaySettings.from_env(yaml.safe_load(CONFIG_MAP.read_text())["data"])
    assert shipped.trusted_proxies >= 1
    client = make_app(ratelimit_default="1/minute", trusted_proxies=shipped.trusted_proxies).test_client()
    ingress = {"REMOTE_ADDR": "10.42.0.7"}  # every request reaches the pod from the Ingress controller
    first, second = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.23"}
    assert client.get("/api/v1/", headers=first, environ_base=ingress).status_code == 200
    assert client.get("/api/v1/", headers=second, environ_base=ingress).status_code == 200
    assert client.get("/api/v1/", headers=first, environ_base=ingress).status_code == 429


def test_an_undeclared_proxy_is_reported_once_per_worker(make_app, caplog):
    client = make_app(ratelimit_default="1000/minute").test_client()
    behind = {"REMOTE_ADDR": "10.42.0.7"}
    with caplog.at_level("WARNING", logger="guichet_gateway.proxy_check"):
        for number in range(2 * proxy_check.SAMPLE):
            client.get("/api/v1/", headers={"X-Forwarded-For": f"203.0.113.{number % 200}"}, environ_base=behind)
    warnings = [r for r in caplog.records if r.name == "guichet_gateway.proxy_check"]
    assert len(warnings) == 1 and "GUICHET_GATEWAY_TRUSTED_PROXIES" in warnings[0].getMessage()


def test_citizens_reaching_the_gateway_directly_or_a_declared_proxy_raise_no_warning():
    direct = proxy_check.UntrustedProxyCheck(sample=10)
    assert not any(direct.observe(f"203.0.113.{n}", forwarded=False) for n in range(20))
    unforwarded = proxy_check.UntrustedProxyCheck(sample=10)  # e.g. a monitoring probe inside the cluster
    assert not any(unforwarded.observe("10.0.0.2", forwarded=False) for _ in range(20))
    proxied = proxy_check.UntrustedProxyCheck(sample=10)
    assert [proxied.observe("10.0.0.2", forwarded=True) for _ in range(12)].count(True) == 1
