"""The fault drill (``make drill``): the suite under steady load, one fault at a time, and what each cost.

    python -m bench.drill     (DRILL_RATE registrations/s, default 5; DRILL_SETTLE seconds of load
                               between faults, default 15; DRILL_DOWN seconds a killed process stays down, 3)

Started piece by piece, as an operator would, on a RabbitMQ node of its own (the
``PrivateBroker`` of the test fixtures, so the shared node on 5672 is never
stopped): the mail catcher (``guichet mailcatcher``), accounts and notifications
(``guichet service``), the gateway (gunicorn). A load thread registers citizens
through the gateway at a steady rate; each accepted registration must produce
exactly one activation mail in the mail catcher. Then, one at a time:

1. the broker is stopped and started again;
2. accounts is killed (SIGKILL) under load, and restarted after DRILL_DOWN s;
3. notifications is killed (SIGKILL) while it sends, and restarted after DRILL_DOWN s.

For each fault it prints how the gateway answered meanwhile (statuses, the
slowest answer) and the recovery: from the fault, and from the moment the
piece was back, to the first accepted registration; for notifications, to the
moment every mail accepted before the kill had arrived. At the end: the
registrations accepted, the mails delivered, the lost ones (accepted, no mail)
and the duplicates (a second mail to the same citizen). A registration whose
answer was lost (a timeout) may have been committed: its mail is counted
apart, neither lost nor duplicated.

Not a unit test (several minutes, root for the private broker): docs/operations.md, "Faults", has its numbers.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.tools import REPO, free_port, wait_port

RATE = float(os.environ.get("DRILL_RATE", "5"))
SETTLE = float(os.environ.get("DRILL_SETTLE", "15"))
DOWN = float(os.environ.get("DRILL_DOWN", "3"))
MAIL_DEADLINE = 90.0  # seconds after the load stops for the last mails (a crashed sender's lease included)
ACTIVATION_SUBJECT = "Activez votre compte citoyen"

REGISTRATION = {"civility": "madame", "birth_name": "Exercice", "first_name": "Alice", "birth_date": "1990-05-06",
                "birth_country": "France", "birth_commune": "ROUBAIX", "birth_department": "59",
                "phones": {"mobile": "06 12 34 56 78"}, "cgu_accepted": True,
                "address": {"street_number": "1", "street_name": "Grand' Place", "postal_code": "59100",
                            "locality": "Roubaix"}}


@dataclass
class Attempt:
    email: str
    started: float
    ended: float = 0.0
    status: int = 0  # 0: no HTTP answer (connection refused, reset, client timeout)


@dataclass
class Load:
    """Registrations through the gateway at ``rate`` per second, each on a pool thread (a slow answer
    never slows the rate down)."""
    url: str
    rate: float
    attempts: list[Attempt] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "Load":
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="drill-load")
        self._thread = threading.Thread(target=self._tick, daemon=True, name="drill-ticker")
        self._thread.start()
        return self

    def _tick(self) -> None:
        number, begin = 0, time.monotonic()
        while not self._stop.is_set():
            attempt = Attempt(f"drill-{number:05d}@example.org", time.monotonic())
            self.attempts.append(attempt)
            self._pool.submit(self._register, attempt)
            number += 1
            self._stop.wait(max(0.0, begin + number / self.rate - time.monotonic()))

    def _register(self, attempt: Attempt) -> None:
        body = json.dumps({**REGISTRATION, "email": attempt.email}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                attempt.status = response.status
        except urllib.error.HTTPError as error:
            attempt.status = error.code
        except OSError:
            attempt.status = 0
        attempt.ended = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def between(self, start: float, end: float) -> list[Attempt]:
        return [a for a in list(self.attempts) if start <= a.started < end and a.ended]

    def first_accepted_after(self, moment: float, wait: float = 120.0) -> float | None:
        """When the first registration sent after ``moment`` was accepted (waits for it)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            done = [a.ended for a in list(self.attempts) if a.started >= moment and a.status == 201]
            if done:
                return min(done)
            time.sleep(0.1)
        return None


class Suite:
    """The pieces, each started by hand with its own ports, on the private broker."""

    def __init__(self, workdir: Path, amqp_uri: str):
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.smtp_port, self.catcher_port, self.gateway_port = free_port(), free_port(), free_port()
        town = workdir / "town.yaml"
        town.write_text(yaml.safe_dump({"name": "Ville d'Exercice", "insee_code": "59512",
                                        "public_url": "https://exercice.ville.test",
                                        "accounts": {"captcha": False}}, allow_unicode=True), encoding="utf-8")
        self.env = dict(os.environ, GUICHET_AMQP_URI=amqp_uri, GUICHET_DATA_DIR=str(workdir),
                        GUICHET_TOWN_SETTINGS=str(town), GUICHET_METRICS_PORT_BASE="0", GUICHET_LOG_LEVEL="WARNING",
                        GUICHET_MAILCATCHER_SMTP_PORT=str(self.smtp_port),
                        GUICHET_MAILCATCHER_HTTP_PORT=str(self.catcher_port),
                        GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
                        GUICHET_NOTIFICATIONS_SMTP_PORT=str(self.smtp_port),
                        GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2",
                        GUICHET_GATEWAY_BIND=f"127.0.0.1:{self.gateway_port}",
                        GUICHET_RATELIMIT_DEFAULT="100000000/minute", GUICHET_RATELIMIT_AUTH="100000000/minute",
                        PYTHONUNBUFFERED="1")
        self.processes: dict[str, subprocess.Popen] = {}
        self.mail_dir = workdir / "mail"

    def command(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "guichet_common.cli", *args], env=self.env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, name: str) -> None:
        if name == "gateway":
            args = ["-m", "gunicorn", "-c", "python:guichet_gateway.gunicorn_conf", "guichet_gateway.wsgi:app"]
        elif name == "mailcatcher":
            args = ["-m", "guichet_common.cli", "mailcatcher"]
        else:
            args = ["-m", "guichet_common.cli", "service", name]
        with open(self.logs / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen([sys.executable, *args], env=self.env, cwd=REPO, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name: str) -> None:
        """SIGKILL to the whole process group: no clean-up, as a crash or an OOM kill."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        from guichet_common.rpc_client import RpcClient

        client = RpcClient(self.env["GUICHET_AMQP_URI"], timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if client.call(service, "health").get("status") == "ok":
                        return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.2)
        finally:
            client.close()

    def mails(self) -> list[tuple[float, list[str]]]:
        """(arrival, recipients) of every mail caught: the catcher names each file by its arrival time."""
        found = []
        for path in self.mail_dir.glob("*.json"):
            try:
                found.append((int(path.stem.split("-")[0]) / 1e9, json.loads(path.read_text())["recipients"]))
            except (ValueError, OSError, KeyError):
                continue  # being written
        return found


def wall_to_monotonic(wall: float) -> float:
    return time.monotonic() - (time.time() - wall)


def _summary(load: Load, start: float, end: float) -> str:
    attempts = load.between(start, end)
    statuses = collections.Counter(a.status for a in attempts)
    slowest = max((a.ended - a.started for a in attempts), default=0.0)
    refused = sorted(a.ended - a.started for a in attempts if a.status != 201)
    shown = ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(statuses.items()))
    median = f", refusals answered in {refused[len(refused) // 2]:.2f} s (median)" if refused else ""
    return f"{len(attempts)} registrations ({shown}), slowest answer {slowest:.1f} s{median}"


def broker_restart(suite: Suite, broker, load: Load) -> dict:
    fault = time.monotonic()
    broker.stop()
    stopped = time.monotonic()
    broker.start()
    back = time.monotonic()
    accepted = load.first_accepted_after(back)
    return {"fault": "broker stopped and started", "at": fault, "down_s": back - fault,
            "stop_s": stopped - fault, "start_s": back - stopped,
            "recovery_from_fault_s": accepted - fault if accepted else None,
            "recovery_from_back_s": accepted - back if accepted else None}


def killed_service(suite: Suite, load: Load, name: str) -> dict:
    fault = time.monotonic()
    suite.kill(name)
    time.sleep(DOWN)
    suite.start(name)
    back = time.monotonic()
    result = {"fault": f"{name} killed (SIGKILL), restarted after {DOWN:.0f} s", "at": fault, "down_s": back - fault}
    if name == "accounts":
        accepted = load.first_accepted_after(back)
        result.update(recovery_from_fault_s=accepted - fault if accepted else None,
                      recovery_from_back_s=accepted - back if accepted else None)
    else:
        suite.wait_healthy(name)
        result.update(backlog=_mail_backlog(suite, load, fault, back))
    return result


def _mail_backlog(suite: Suite, load: Load, fault: float, back: float) -> dict:
    """How long after the restart every registration accepted before the kill had its mail."""
    expected = {a.email for a in list(load.attempts) if a.status == 201 and a.ended <= fault}
    deadline = time.monotonic() + MAIL_DEADLINE
    while time.monotonic() < deadline:
        arrived = {r for _, recipients in suite.mails() for r in recipients}
        if expected <= arrived:
            return {"mails_expected": len(expected), "all_delivered_after_restart_s": time.monotonic() - back,
                    "all_delivered_after_kill_s": time.monotonic() - fault}
        time.sleep(0.2)
    return {"mails_expected": len(expected), "missing_after_s": MAIL_DEADLINE}


def _outcome(suite: Suite, load: Load) -> dict:
    accepted = {a.email for a in load.attempts if a.status == 201}
    unknown = {a.email for a in load.attempts if a.status in (0, 502, 503, 504)}
    deadline = time.monotonic() + MAIL_DEADLINE
    while time.monotonic() < deadline:
        per_recipient = collections.Counter(r for _, recipients in suite.mails() for r in recipients)
        if accepted <= set(per_recipient):
            break
        time.sleep(0.5)
    time.sleep(5)  # a mail sent twice may arrive a moment after the first
    per_recipient = collections.Counter(r for _, recipients in suite.mails() for r in recipients)
    return {
        "registrations_sent": len(load.attempts),
        "registrations_accepted": len(accepted),
        "refused_or_unanswered": len(load.attempts) - len(accepted),
        "mails_delivered": sum(per_recipient.values()),
        "lost": len(accepted - set(per_recipient)),
        "duplicated": sum(count - 1 for count in per_recipient.values() if count > 1),
        "committed_without_answer": len(unknown & set(per_recipient)),
    }


def drill(workdir: Path, broker) -> dict:
    suite = Suite(workdir, broker.uri)
    try:
        suite.command("migrate", "accounts", "notifications")
        suite.start("mailcatcher")
        wait_port(suite.smtp_port)
        for name in ("accounts", "notifications"):
            suite.start(name)
            suite.wait_healthy(name)
        suite.start("gateway")
        wait_port(suite.gateway_port)
        load = Load(f"http://127.0.0.1:{suite.gateway_port}/api/v1/accounts/registrations", RATE).start()
        faults = []
        time.sleep(SETTLE)
        for run in (lambda: broker_restart(suite, broker, load),
                    lambda: killed_service(suite, load, "accounts"),
                    lambda: killed_service(suite, load, "notifications")):
            result = run()
            time.sleep(SETTLE)
            result["during"] = _summary(load, result["at"], result["at"] + result["down_s"] + 10)
            faults.append(result)
            print(_fault_line(result), flush=True)
        load.stop()
        return {"rate_per_s": RATE, "faults": faults, "outcome": _outcome(suite, load)}
    finally:
        suite.stop_all()


def _rounded(value):
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return round(value, 1) if isinstance(value, float) else value


def _fault_line(result: dict) -> str:
    shown = _rounded({k: v for k, v in result.items() if k not in ("at", "fault")})
    return f"- {result['fault']}: {json.dumps(shown, ensure_ascii=False)}"


def main() -> None:
    from guichet_common.testing import PrivateBroker

    if os.geteuid() != 0:
        raise SystemExit("the drill starts a RabbitMQ node of its own: run it as root (the packaged server's rule)")
    directory = Path(tempfile.mkdtemp(prefix="guichet-drill-broker-"))
    workdir = Path(tempfile.mkdtemp(prefix="guichet-drill-"))
    broker = PrivateBroker(directory).start()
    print(f"Drill: private RabbitMQ on {broker.uri}, {RATE:g} registrations/s, logs in {workdir / 'logs'}",
          flush=True)
    try:
        report = drill(workdir, broker)
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)
    outcome = report["outcome"]
    print(json.dumps(outcome, ensure_ascii=False))
    print(f"Registrations accepted: {outcome['registrations_accepted']}, mails delivered: "
          f"{outcome['mails_delivered']}, lost: {outcome['lost']}, duplicated: {outcome['duplicated']}"
          f" (+{outcome['committed_without_answer']} committed whose answer was lost)", flush=True)
    if outcome["lost"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
