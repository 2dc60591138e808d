"""End to end over HTTP: the real gateway under gunicorn in front of the real services,
and `make run`'s supervisor as a whole."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from guichet_common.config import SERVICES
from guichet_common.testing import migrated_service, wait_for

pytestmark = pytest.mark.e2e


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, headers=None, timeout=15):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def start_gateway(processes, **env):
    port = free_port()
    processes.command([sys.executable, "-m", "gunicorn", "-c", "python:guichet_gateway.gunicorn_conf",
                       "guichet_gateway.wsgi:app"], "gateway", GUICHET_GATEWAY_BIND=f"127.0.0.1:{port}",
                      GUICHET_GATEWAY_WORKERS=1, GUICHET_GATEWAY_THREADS=4, **env)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base + "/api/health"), timeout=30, message="gateway up")
    return base


class _Adopted:
    """Lets the processes fixture kill the suite if the test fails before Ctrl-C."""
    name = "guichet run"

    def __init__(self, popen):
        self.popen = popen

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            self.popen.wait(60)

    def log(self):
        return ""


def _answers(url):
    try:
        return get(url, timeout=2)[0] == 200
    except OSError:
        return False


def test_readiness_through_the_gateway_names_the_service_that_is_down_in_time(processes, databases):
    started = {name: migrated_service(processes, databases, name) for name in SERVICES}
    base = start_gateway(processes, GUICHET_GATEWAY_READY_TIMEOUT=2, GUICHET_RPC_TIMEOUT=2)

    status, headers, body = get(base + "/api/ready", {"X-Request-ID": "e2e-ready-1"})
    assert status == 200, body
    assert headers["X-Request-ID"] == "e2e-ready-1"
    # The request id became the correlation id of the services' work.
    assert wait_for(lambda: '"correlation_id": "e2e-ready-1"' in started["billing"].log(), message="billing log")

    started["billing"].stop()
    began = time.monotonic()
    status, headers, body = get(base + "/api/ready")
    assert time.monotonic() - began < 4
    assert status == 503
    assert headers["Content-Type"].startswith("application/problem+json")
    assert "billing" in json.dumps(body) and body["status"] == 503


def test_errors_over_http_are_french_problems(processes):
    base = start_gateway(processes)
    status, headers, body = get(base + "/api/v1/nothing-here")
    assert status == 404 and headers["Content-Type"].startswith("application/problem+json")
    assert body["type"].startswith("urn:guichet:problem:") and body["detail"]
    assert headers.get("X-Request-ID") and body["request_id"] == headers["X-Request-ID"]


def test_make_run_starts_everything_and_stops_cleanly_on_ctrl_c(processes, tmp_path):
    env = processes.env(GUICHET_DATA_DIR=tmp_path / "var", GUICHET_GATEWAY_BIND=f"127.0.0.1:{free_port()}",
                        GUICHET_MAILCATCHER_SMTP_PORT=free_port(), GUICHET_MAILCATCHER_HTTP_PORT=free_port())
    subprocess.run([sys.executable, "-m", "guichet_common.cli", "migrate"], env=env, check=True,
                   capture_output=True, timeout=120)
    log = open(tmp_path / "run.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "guichet_common.cli", "run"], env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    processes.started.append(_Adopted(run))
    base = "http://" + env["GUICHET_GATEWAY_BIND"]
    try:
        wait_for(lambda: _answers(base + "/api/ready"), timeout=90, interval=0.5, message="suite ready")
        page = urllib.request.urlopen(f"http://127.0.0.1:{env['GUICHET_MAILCATCHER_HTTP_PORT']}/", timeout=5)
        assert "Courriels reçus" in page.read().decode()
        printed = (tmp_path / "run.log").read_text()
        assert base + "/api/docs" in printed and "Press Ctrl-C" in printed
        # guichet run itself, five services, the gateway's master and worker(s).
        assert len(processes_with_env(f"GUICHET_DATA_DIR={env['GUICHET_DATA_DIR']}")) >= 8
    finally:
        run.send_signal(signal.SIGINT)
        code = run.wait(60)
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert "Stopped." in (tmp_path / "run.log").read_text()
    assert processes_with_env(f"GUICHET_DATA_DIR={env['GUICHET_DATA_DIR']}") == []


def processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``marker`` (the suite's children carry its data dir)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if marker.encode() in environ.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found
