"""A RabbitMQ node of a test module's own, for fault drills that stop and start the broker."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest


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
