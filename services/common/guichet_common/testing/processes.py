"""Real service processes (services, relay, gateway) started by a test and always stopped, with their logs
printed when the test fails."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..errors import GuichetError
from ..rpc_client import RpcClient
from .databases import DatabaseFactory

REPO = Path(__file__).resolve().parents[4]


def python_path() -> str:
    extra = [str(REPO / "tests" / "support")]
    current = os.environ.get("PYTHONPATH")
    return os.pathsep.join(extra + ([current] if current else []))


class Process:
    """A real Guichet process (service, relay, gateway) with its log kept for failures."""

    def __init__(self, args: list[str], env: dict, log_path: Path, name: str):
        self.args, self.env, self.log_path, self.name = args, env, log_path, name
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=REPO, start_new_session=True)
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        popen = self.popen
        if popen is not None and popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        popen = self.popen
        if popen is not None and popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ServiceProcess(Process):
    def __init__(self, spec: str, name: str, env: dict, log_path: Path, amqp_uri: str, extra_args=()):
        args = [sys.executable, "-m", "guichet_common.cli", "service", spec, *extra_args]
        super().__init__(args, env, log_path, name)
        self.amqp_uri = amqp_uri

    def wait_healthy(self, timeout: float = 30) -> dict:
        client = RpcClient(self.amqp_uri, timeout=1.0)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if not self.running:
                    raise AssertionError(f"{self.name} exited early:\n{self.log()[-4000:]}")
                try:
                    return client.call(self.name, "health", timeout=1.0)
                except GuichetError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{self.name} not healthy in {timeout}s:\n{self.log()[-4000:]}") from None
                    time.sleep(0.2)
        finally:
            client.close()


class Processes:
    """Starts processes for a test and always stops them, printing logs of failed tests."""

    def __init__(self, amqp_uri: str, log_dir: Path):
        self.amqp_uri = amqp_uri
        self.log_dir = log_dir
        self.started: list[Process] = []

    def env(self, **overrides) -> dict:
        env = dict(os.environ)
        env.update({
            "GUICHET_AMQP_URI": self.amqp_uri,
            "GUICHET_METRICS_PORT_BASE": "0",
            "GUICHET_LOG_LEVEL": "INFO",
            "GUICHET_DATA_DIR": str(self.log_dir),
            "PYTHONPATH": python_path(),
            "PYTHONUNBUFFERED": "1",
        })
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def service(self, spec: str, name: str, database_url: str, *, wait: bool = True, extra_args=(),
                **env) -> ServiceProcess:
        env_vars = self.env(**{f"GUICHET_{name.upper()}_DATABASE_URL": database_url, **env})
        process = ServiceProcess(spec, name, env_vars, self.log_dir / f"{name}-{len(self.started)}.log",
                                 self.amqp_uri, extra_args)
        self.started.append(process.start())
        if wait:
            process.wait_healthy()
        return process

    def command(self, args: list[str], name: str, **env) -> Process:
        process = Process(args, self.env(**env), self.log_dir / f"{name}-{len(self.started)}.log", name)
        self.started.append(process.start())
        return process

    def guichet(self, *args: str, name: str, **env) -> Process:
        """Run a ``guichet`` CLI command (relay, dlq...) as its own process."""
        return self.command([sys.executable, "-m", "guichet_common.cli", *args], name, **env)

    def stop_all(self):
        for process in reversed(self.started):
            process.stop()


@pytest.fixture
def processes(amqp_uri, tmp_path, request):
    manager = Processes(amqp_uri, tmp_path)
    yield manager
    manager.stop_all()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for process in manager.started:
            sys.stderr.write(f"\n----- log of {process.name} -----\n{process.log()[-6000:]}\n")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def migrated_service(processes: Processes, databases: DatabaseFactory, name: str, **env) -> ServiceProcess:
    """Start an installed service on a fresh database brought to its migration head."""
    from .. import migrations
    from ..registry import load_class

    service_cls = load_class(name)
    url = databases.new(name)
    migrations.upgrade(service_cls.package(), url)
    return processes.service(name, name, url, **env)

def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)
