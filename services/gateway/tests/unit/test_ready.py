"""GET /api/health (liveness) and GET /api/ready (broker and every service's health, concurrently)."""
import threading
import time

from guichet_common.config import SERVICES
from guichet_common.errors import ServiceTimeout, ServiceUnavailable
from guichet_common.rpc_client import RemoteError
from guichet_gateway.readiness import ReadinessChecker


def test_health_answers_without_touching_the_broker(client, fake_rpc):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert fake_rpc.calls == []


def test_ready_when_every_service_is_ok(client, fake_rpc):
    response = client.get("/api/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["broker"]["status"] == "ok"
    assert set(body["services"]) == set(SERVICES)
    assert all(service["status"] == "ok" for service in body["services"].values())
    assert {call["service"] for call in fake_rpc.calls if call["method"] == "health"} == set(SERVICES)


def test_not_ready_when_one_service_is_down(client, fake_rpc):
    fake_rpc.replies[("billing", "health")] = ServiceUnavailable()
    response = client.get("/api/ready")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == "urn:guichet:problem:not-ready"
    assert body["status"] == 503
    assert body["down"] == ["billing"]
    assert body["services"]["billing"] == {"status": "down", "reason": "service-unavailable"}
    assert body["services"]["accounts"]["status"] == "ok"
    assert body["detail"] == "Le portail n'est pas prêt : le service indisponible est billing."
    assert body["instance"] == "/api/ready"
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_every_kind_of_failure_is_reported_per_service(client, fake_rpc):
    fake_rpc.replies[("accounts", "health")] = ServiceTimeout()
    fake_rpc.replies[("demarches", "health")] = RemoteError("OperationalError", "database is locked")
    fake_rpc.replies[("activities", "health")] = {"service": "activities", "status": "degraded"}
    fake_rpc.replies[("notifications", "health")] = RuntimeError("bug in a check")
    body = client.get("/api/ready").get_json(force=True)
    assert body["down"] == ["accounts", "demarches", "activities", "notifications"]
    assert body["services"]["accounts"]["reason"] == "service-timeout"
    assert body["services"]["demarches"] == {"status": "down", "reason": "error"}
    assert body["services"]["activities"]["status"] == "degraded"
    assert body["services"]["billing"]["status"] == "ok"
    assert "database is locked" not in str(body)
    assert body["detail"] == ("Le portail n'est pas prêt : les services indisponibles sont "
                              "accounts, demarches, activities, notifications.")


def test_the_service_health_report_stays_internal(client, fake_rpc):
    fake_rpc.replies[("accounts", "health")] = {"status": "ok", "database": {"revision": "0001"}}
    body = client.get("/api/ready").get_json()
    assert set(body["services"]["accounts"]) == {"status", "latency_ms"}


def test_not_ready_when_the_broker_is_down(client, fake_rpc):
    fake_rpc.broker_up = False
    for service in SERVICES:
        fake_rpc.replies[(service, "health")] = ServiceUnavailable()
    body = client.get("/api/ready").get_json(force=True)
    assert body["broker"]["status"] == "down"
    assert body["down"][0] == "broker"
    assert body["detail"].startswith("Le portail n'est pas prêt : la messagerie interne est injoignable et ")


def test_checks_run_concurrently_and_a_stuck_service_costs_one_timeout(fake_rpc):
    release = threading.Event()

    def stuck(**call):
        release.wait(5)
        return {"status": "ok"}

    def slow(**call):
        time.sleep(0.3)
        return {"status": "ok"}

    fake_rpc.replies[("accounts", "health")] = stuck
    for service in SERVICES[1:]:
        fake_rpc.replies[(service, "health")] = slow
    checker = ReadinessChecker(fake_rpc, SERVICES, timeout=0.5, broker_probe=fake_rpc.ping)
    started = time.monotonic()
    report = checker.check()
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 1.5  # 0.5 s timeout + grace, not 4 × 0.3 s + a stuck one
    assert report["services"]["accounts"] == {"status": "down", "reason": "timeout"}
    assert all(report["services"][service]["status"] == "ok" for service in SERVICES[1:])
    assert report["ready"] is False


def test_health_calls_use_the_short_ready_timeout(make_app, fake_rpc):
    client = make_app(ready_timeout=0.7).test_client()
    client.get("/api/ready")
    assert {call["timeout"] for call in fake_rpc.calls if call["method"] == "health"} == {0.7}


def test_health_calls_carry_the_request_id(client, fake_rpc):
    client.get("/api/ready", headers={"X-Request-ID": "probe-7"})
    assert {call["correlation_id"] for call in fake_rpc.calls if call["method"] == "health"} == {"probe-7"}
