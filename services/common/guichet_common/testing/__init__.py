"""Test fixtures for every Guichet service: a fresh vhost per run, a fresh database
per service and test, real service processes, and an AMQP spy.

Loaded as a pytest plugin by the repository's conftest.py. The database
backend comes from GUICHET_TEST_DATABASE (sqlite, the default, or postgresql).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Iterator

import pika
import pytest
import sqlalchemy as sa

from . import amqp
from .errors import GuichetError
from .rpc_client import RpcClient

REPO = Path(__file__).resolve().parents[3]
BROKER_URI = os.environ.get("GUICHET_TEST_BROKER_URI", "amqp://guest:guest@127.0.0.1:5672/")
POSTGRES_ADMIN_URL = os.environ.get("GUICHET_TEST_POSTGRESQL_URL",
                                    "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql")


def backend() -> str:
    return os.environ.get("GUICHET_TEST_DATABASE", "sqlite")


# --- broker -------------------------------------------------------------------

def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class TestVhost:
    """A RabbitMQ vhost of its own for one test run: no leftovers, no collisions."""

    def __init__(self):
        self.name = f"guichet-test-{uuid.uuid4().hex[:10]}"
        base = urllib.parse.urlsplit(BROKER_URI)
        self.uri = urllib.parse.urlunsplit((base.scheme, base.netloc, "/" + urllib.parse.quote(self.name, safe=""),
                                            "", ""))

    def create(self):
        if not shutil.which("rabbitmqctl"):
            raise RuntimeError("rabbitmqctl is needed to create the test vhost (or set GUICHET_TEST_AMQP_URI)")
        _rabbitmqctl("add_vhost", self.name)
        user = urllib.parse.urlsplit(BROKER_URI).username or "guest"
        _rabbitmqctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        return self

    def delete(self):
        try:
            _rabbitmqctl("delete_vhost", self.name)
        except (subprocess.SubprocessError, OSError):
            pass


def pytest_configure(config):
    if os.environ.get("GUICHET_TEST_AMQP_URI"):
        config._guichet_vhost = None
        return
    try:
        vhost = TestVhost().create()
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        config._guichet_vhost = None
        config.issue_config_time_warning(pytest.PytestConfigWarning(f"no test vhost: {error}"), stacklevel=2)
        return
    config._guichet_vhost = vhost
    os.environ["GUICHET_TEST_AMQP_URI"] = vhost.uri


def pytest_unconfigure(config):
    vhost = getattr(config, "_guichet_vhost", None)
    if vhost is not None:
        vhost.delete()
        os.environ.pop("GUICHET_TEST_AMQP_URI", None)


_deletions: list[subprocess.Popen] = []


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A fresh vhost for each test: queues, dead letters and exchanges never leak between tests."""
    if os.environ.get("GUICHET_TEST_AMQP_URI") and not shutil.which("rabbitmqctl"):
        yield os.environ["GUICHET_TEST_AMQP_URI"]  # a remote broker: share the given vhost
        return
    try:
        vhost = TestVhost().create()
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        pytest.fail(f"no RabbitMQ test vhost ({error}); is rabbitmq-server running? run ./scripts/ensure-broker.sh")
    yield vhost.uri
    # Deleting takes ~0.4 s: let it run while the next test starts.
    _deletions.append(subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", vhost.name],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def pytest_sessionfinish(session, exitstatus):
    for process in _deletions:
        process.wait(60)


@pytest.fixture
def rpc(amqp_uri):
    client = RpcClient(amqp_uri, timeout=5.0, name="guichet-tests")
    yield client
    client.close()


class PrivateBroker:
    """A RabbitMQ node of its own, started and stopped by a test, so a fault drill never touches the shared
    node on 5672 that other tests use. Its name, ports and data live in a temporary directory; the Erlang
    cookie is the system's (rabbitmqctl reaches it as it reaches the shared node)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.name = f"guichet-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = _free_port(), _free_port()
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.popen: subprocess.Popen | None = None
        (directory / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (directory / "enabled_plugins").write_text("[].\n")
        if os.geteuid() == 0:  # the packaged scripts run the node as the rabbitmq user
            import pwd

            account = pwd.getpwnam("rabbitmq")
            directory.chmod(0o755)
            for path in [directory, *directory.iterdir()]:
                os.chown(path, account.pw_uid, account.pw_gid)

    def _env(self) -> dict:
        return {**os.environ,
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.directory / "log"),
                "RABBITMQ_PID_FILE": str(self.directory / "node.pid")}

    def start(self, timeout: float = 60) -> "PrivateBroker":
        pid_file = self.directory / "node.pid"
        pid_file.unlink(missing_ok=True)
        with open(self.directory / "server.out", "ab") as out:
            self.popen = subprocess.Popen(["rabbitmq-server"], env=self._env(), stdout=out, stderr=subprocess.STDOUT,
                                          cwd=self.directory, start_new_session=True)
        subprocess.run(["rabbitmqctl", "-q", "-n", self.name, "wait", str(pid_file), "--timeout", str(int(timeout))],
                       check=True, capture_output=True, timeout=timeout + 10)
        return self

    def stop(self) -> None:
        """Stop the whole node (as an operator's restart or a crash of the broker host would)."""
        subprocess.run(["rabbitmqctl", "-q", "-n", self.name, "stop"], capture_output=True, timeout=60)
        popen = self.popen
        if popen is not None:
            try:
                popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(10)

    def log(self) -> str:
        logs = sorted((self.directory / "log").glob("*.log"))
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in logs)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def private_broker() -> Iterator[PrivateBroker]:
    """A RabbitMQ node for one test module, free to stop and start (needs root or the rabbitmq user)."""
    import pwd
    import tempfile

    if not shutil.which("rabbitmq-server") or not shutil.which("rabbitmqctl"):
        pytest.skip("needs rabbitmq-server installed locally")
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "rabbitmq":
        pytest.skip("the packaged rabbitmq-server runs as root or the rabbitmq user only")
    # Not under pytest's tmp_path: the node's user must be able to reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="guichet-broker-"))
    broker = PrivateBroker(directory)
    try:
        broker.start()
    except (subprocess.SubprocessError, OSError) as error:
        broker.stop()
        output = broker.log()
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"the private RabbitMQ node did not start: {error}\n{output}")
    yield broker
    broker.stop()
    shutil.rmtree(directory, ignore_errors=True)


# --- databases ----------------------------------------------------------------

class DatabaseFactory:
    def __init__(self, directory: Path):
        self.directory = directory
        self.created: list[str] = []

    def new(self, service: str) -> str:
        if backend() == "postgresql":
            name = f"gt_{uuid.uuid4().hex[:12]}_{service}"
            engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            self.created.append(name)
            return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.directory / (service + '-' + uuid.uuid4().hex[:6] + '.sqlite3')}"

    def drop_all(self):
        if not self.created:
            return
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for name in self.created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def databases(tmp_path):
    factory = DatabaseFactory(tmp_path)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="module")
def module_databases(tmp_path_factory):
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


# --- service processes --------------------------------------------------------

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
    from . import migrations
    from .registry import load_class

    service_cls = load_class(name)
    url = databases.new(name)
    migrations.upgrade(service_cls.package(), url)
    return processes.service(name, name, url, **env)


# --- AMQP spy -----------------------------------------------------------------

class AmqpSpy:
    """Binds a private queue to an exchange and collects what is published there."""

    def __init__(self, amqp_uri: str, exchange: str, binding_key: str = "#"):
        self.connection = amqp.connect(amqp_uri, name="guichet-test-spy")
        self.channel = self.connection.channel()
        amqp.declare_exchange(self.channel, exchange)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.channel.queue_bind(self.queue, exchange, binding_key)

    def collect(self, count: int, timeout: float = 10.0) -> list[tuple[pika.BasicProperties, dict]]:
        received: list[tuple[pika.BasicProperties, dict]] = []
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.05)
                continue
            received.append((properties, json.loads(body)))
        return received

    def close(self):
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def amqp_spy(amqp_uri):
    spies = []

    def make(exchange: str, binding_key: str = "#") -> AmqpSpy:
        spy = AmqpSpy(amqp_uri, exchange, binding_key)
        spies.append(spy)
        return spy

    yield make
    for spy in spies:
        spy.close()


def publish(amqp_uri: str, exchange: str, routing_key: str, envelope: dict, **properties) -> None:
    """Publish a message as a producer would (used to test consumers)."""
    connection = amqp.connect(amqp_uri, name="guichet-test-publisher")
    try:
        channel = amqp.publishing_channel(connection, exchange)
        body = json.dumps(envelope).encode() if isinstance(envelope, dict) else envelope
        props = {"message_id": envelope.get("id") if isinstance(envelope, dict) else None,
                 "content_type": "application/cloudevents+json", "delivery_mode": 2, **properties}
        channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(**props))
    finally:
        connection.close()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)
