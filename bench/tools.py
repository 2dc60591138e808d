"""What every benchmark shares: settings from the environment, ports, gunicorn, wrk."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# The gateway's documented defaults (guichet_gateway.gunicorn_conf); every app is measured with the same.
WORKERS = os.environ.get("BENCH_WORKERS", os.environ.get("GUICHET_GATEWAY_WORKERS", "2"))
THREADS = os.environ.get("BENCH_THREADS", os.environ.get("GUICHET_GATEWAY_THREADS", "8"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"port {port} did not open")


def gunicorn(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    # Same settings for the three apps.
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", WORKER_CLASS, "-w", WORKERS, "--threads", THREADS,
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
                            env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=REPO,
                            start_new_session=True)


def service_env(workdir: Path, amqp_uri: str, **variables: str) -> dict:
    """The environment every benchmarked process shares (own vhost and data directory, quiet logs,
    no metrics port, no rate limit in the way), plus ``variables``."""
    return dict(os.environ, GUICHET_AMQP_URI=amqp_uri, GUICHET_METRICS_PORT_BASE="0", GUICHET_LOG_LEVEL="WARNING",
                GUICHET_DATA_DIR=str(workdir), GUICHET_RATELIMIT_DEFAULT="100000000/minute", PYTHONPATH=str(REPO),
                **variables)


def start_service(spec: str, env: dict, log: Path) -> subprocess.Popen:
    """``guichet service <spec>`` in its own process group, its output in ``log``."""
    return subprocess.Popen([sys.executable, "-m", "guichet_common.cli", "service", spec], env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)


def rpc_when_ready(amqp_uri: str, service: str, method: str, *args, timeout: float = 1, wait: float = 30):
    """An RPC client, once ``service`` answers ``method(*args)`` (it may still be starting)."""
    from guichet_common.rpc_client import RpcClient

    client = RpcClient(amqp_uri, timeout=timeout)
    deadline = time.monotonic() + wait
    while True:
        try:
            client.call(service, method, *args)
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def process_group(process: subprocess.Popen) -> list[int]:
    """The pids of ``process``'s group (gunicorn's master and workers, a service and its children)."""
    out = subprocess.run(["pgrep", "-g", str(os.getpgid(process.pid))], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def broker_pids() -> list[int]:
    """The local RabbitMQ's Erlang VM, if it runs on this machine and is visible to us."""
    out = subprocess.run(["pgrep", "-f", "beam.*rabbit"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU consumed so far by each of ``pids`` that still runs (from /proc)."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``cpu_seconds`` readings by the processes present in both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def warm_up(url: str, *extra: str) -> None:
    """Two seconds of light load: every worker has booted (wait_port only sees the master) and is warm."""
    subprocess.run(["wrk", "-t1", "-c4", "-d2s", *extra, url], capture_output=True)


def wrk(url: str, *extra: str) -> dict:
    """``extra``: more wrk options (a header, a Lua script for POST bodies)."""
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", *extra, url],
                         capture_output=True, text=True, check=True).stdout

    def latency(label):
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": latency(50), "p99_ms": latency(99), "non_2xx": int(errors.group(1)) if errors else 0}


def in_fresh_vhost(run: Callable[[Path, str], object], prefix: str, *, needs_wrk: bool = True):
    """``run(workdir, amqp_uri)`` in a new RabbitMQ vhost (deleted afterwards) and a new work directory."""
    from guichet_common.testing import TestVhost

    if needs_wrk and not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (make bench installs it)")
    vhost = TestVhost().create()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(workdir, vhost.uri)
    finally:
        vhost.delete()
