"""The gateway as it runs in production: gunicorn, gthread workers, the real RPC client and broker.

No service runs: /api/ready must say so, per service, within the RPC timeout,
while /api/health keeps answering.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from guichet_common.config import SERVICES

pytestmark = pytest.mark.interface

RPC_TIMEOUT = 3.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def amqp_test_uri():
    uri = os.environ.get("GUICHET_TEST_AMQP_URI")
    if not uri:
        pytest.skip("GUICHET_TEST_AMQP_URI is not set (no RabbitMQ test vhost)")
    return uri


class Gunicorn:
    def __init__(self, amqp_uri: str, directory: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "gateway.log"
        metrics_dir = directory / "metrics"
        self.env = {**os.environ, "GUICHET_AMQP_URI": amqp_uri, "GUICHET_GATEWAY_BIND": f"127.0.0.1:{self.port}",
                    "GUICHET_RPC_TIMEOUT": str(RPC_TIMEOUT), "GUICHET_GATEWAY_WORKERS": "2",
                    "GUICHET_GATEWAY_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                    "GUICHET_LOG_LEVEL": "INFO"}
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:guichet_gateway.gunicorn_conf",
                 "guichet_gateway.wsgi:app"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.base_url}/api/health", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or the worker is still importing the app (a slow machine)
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer in 30 s:\n{self.log()}")
            time.sleep(0.2)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture
def gateway(amqp_test_uri, tmp_path):
    server = Gunicorn(amqp_test_uri, tmp_path).start()
    yield server
    server.stop()


def test_ready_reports_every_service_down_in_time_and_health_stays_up(gateway):
    response = requests.get(f"{gateway.base_url}/api/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]

    for _ in range(2):  # the second probe reuses the pool threads' connections
        started = time.monotonic()
        response = requests.get(f"{gateway.base_url}/api/ready", timeout=RPC_TIMEOUT + 10,
                                headers={"X-Request-ID": "ready-check-1"})
        elapsed = time.monotonic() - started
        assert elapsed < RPC_TIMEOUT + 2, gateway.log()
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "urn:guichet:problem:not-ready"
        assert body["request_id"] == "ready-check-1"
        assert body["broker"]["status"] == "ok"
        assert body["down"] == list(SERVICES)
        for service in SERVICES:
            assert body["services"][service]["status"] == "down"
            assert body["services"][service]["reason"] == "no-consumer"  # never started: no queue at all

    assert requests.get(f"{gateway.base_url}/api/health", timeout=5).status_code == 200


def test_json_access_log_without_query_string_and_summed_metrics(gateway):
    for _ in range(6):  # spread over both workers
        requests.get(f"{gateway.base_url}/api/v1/?email=jean.dupont@example.org", timeout=5)
    deadline = time.monotonic() + 5
    while "/api/v1/" not in gateway.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    access = [json.loads(line) for line in gateway.log().splitlines()
              if line.startswith("{") and '"gunicorn.access"' in line]
    assert any(entry["path"] == "/api/v1/" and entry["status"] == 200 for entry in access)
    assert "jean.dupont" not in gateway.log()

    metrics = requests.get(f"{gateway.base_url}/api/metrics", timeout=5).text
    line = next(line for line in metrics.splitlines()
                if line.startswith("guichet_gateway_requests_total") and 'route="/api/v1/"' in line)
    assert float(line.rsplit(" ", 1)[1]) == 6.0
