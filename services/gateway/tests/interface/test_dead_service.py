"""One dead service does not stall the gateway (issue 17 §2): gunicorn's gthread worker, the real RPC client.

accounts is down the way a stopped service leaves it (its durable RPC queue, no consumer); notifications
runs. While a flood of calls to accounts goes on, they all answer 503 with Retry-After before one RPC
timeout, /api/health and notifications' routes keep answering, /api/ready names accounts. Without the
RPC guard each accounts call held one of the 4 threads for the whole timeout: health and notifications
queued behind them.

Times are compared with the RPC timeout, with wide margins: latency targets belong in bench/.
"""
import socket
import sys
import threading
import time

import kombu
import pytest
import requests

from guichet_common.testing import migrated_service, wait_for

pytestmark = [pytest.mark.interface, pytest.mark.fault]

RPC_TIMEOUT = 5.0
THREADS = 4
CALLERS = 12  # three times the worker's threads, all calling the dead service at once
ROUNDS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def leave_queue_without_consumer(amqp_uri: str, service: str) -> None:
    """What a stopped nameko service leaves: its durable RPC queue, bound to nameko-rpc, nobody consuming."""
    with kombu.Connection(amqp_uri) as connection:
        exchange = kombu.Exchange("nameko-rpc", type="topic", durable=True)
        kombu.Queue(f"rpc-{service}", exchange=exchange, routing_key=f"{service}.*",
                    durable=True)(connection.default_channel).declare()


def timed(method: str, url: str, **kwargs) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=RPC_TIMEOUT * 4, **kwargs)
    return time.monotonic() - started, response


@pytest.fixture
def gateway(processes, databases, amqp_uri):
    migrated_service(processes, databases, "notifications")
    leave_queue_without_consumer(amqp_uri, "accounts")
    port = free_port()
    processes.command([sys.executable, "-m", "gunicorn", "-c", "python:guichet_gateway.gunicorn_conf",
                       "guichet_gateway.wsgi:app"], "gateway", GUICHET_GATEWAY_BIND=f"127.0.0.1:{port}",
                      GUICHET_GATEWAY_WORKERS=1, GUICHET_GATEWAY_THREADS=THREADS, GUICHET_RPC_TIMEOUT=RPC_TIMEOUT,
                      GUICHET_RATELIMIT_AUTH="100000/minute", GUICHET_RATELIMIT_DEFAULT="100000/minute")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base + "/api/health"), timeout=30, message="gateway up")
    return base


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_dead_service_answers_503_at_once_and_the_rest_of_the_gateway_keeps_answering(gateway):
    dead_answers: list[tuple[float, requests.Response]] = []
    lock = threading.Lock()

    def call_the_dead_service():
        for _ in range(ROUNDS):
            answer = timed("POST", gateway + "/api/v1/accounts/activation/preview", json={"token": "x" * 32})
            with lock:
                dead_answers.append(answer)

    callers = [threading.Thread(target=call_the_dead_service) for _ in range(CALLERS)]
    for caller in callers:
        caller.start()
    health, other_service = [], []
    while any(caller.is_alive() for caller in callers) or not health:
        health.append(timed("GET", gateway + "/api/health"))
        other_service.append(timed("POST", gateway + "/api/v1/notifications/unsubscribe?token=bogus",
                                   headers={"Accept": "application/json"}))
    for caller in callers:
        caller.join(RPC_TIMEOUT * ROUNDS * 4)

    assert len(dead_answers) == CALLERS * ROUNDS
    for elapsed, response in dead_answers:
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "urn:guichet:problem:service-unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert elapsed < RPC_TIMEOUT / 2, "answered without waiting for the RPC timeout"
    for elapsed, response in health:
        assert response.status_code == 200
        assert elapsed < RPC_TIMEOUT / 2, "liveness never waits behind calls to a dead service"
    for elapsed, response in other_service:
        # notifications itself refuses the bogus link: its answer came back through the gateway.
        assert response.status_code == 400, response.text
        assert response.json()["type"].startswith("urn:guichet:problem:unsubscribe-link")
        assert elapsed < RPC_TIMEOUT / 2, "another service keeps answering"

    elapsed, ready = timed("GET", gateway + "/api/ready")
    body = ready.json()
    assert ready.status_code == 503
    assert body["services"]["accounts"] == {"status": "down", "reason": "no-consumer"}
    assert body["services"]["notifications"]["status"] == "ok"
    assert "accounts" in body["detail"]
