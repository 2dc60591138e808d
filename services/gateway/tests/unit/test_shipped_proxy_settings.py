"""Issue 11 item 1: with the Kubernetes settings as shipped, citizens behind the Ingress are told apart.

Without GUICHET_GATEWAY_TRUSTED_PROXIES every request seems to come from the Ingress's address: the
per-address limits (and the login throttle keyed on it) then apply to the whole town at once."""
from pathlib import Path

import yaml

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
