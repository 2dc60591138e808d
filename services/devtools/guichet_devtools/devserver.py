"""``guichet run`` (what ``make run`` starts): the whole suite on one machine, for development.

Starts the mail catcher, every installed service (each with its embedded
outbox relay) and the gateway under gunicorn; prints the URLs; restarts a
crashed process a few times (not with ``--no-restart``: a fault drill kills a
process and it must stay down); stops everything cleanly on Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from importlib.metadata import entry_points

from guichet_common import smsfile
from guichet_common.config import load_settings
from guichet_common.registry import installed
from guichet_common.town import TownSettingsError, load_town

from .mailcatcher import MailCatcher

MAX_RESTARTS = 5


class Child:
    def __init__(self, name: str, args: list[str], env: dict, log_dir):
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.restarts = 0
        self.exit_reported = False  # --no-restart: its exit was printed once

    def start(self):
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        log.close()

    def exit_code(self) -> int | None:
        """The code it exited with; None while it runs."""
        return self.popen.poll() if self.popen is not None else None

    def stop(self):
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def load_demo_data() -> list[str]:
    """Each service may ship demo data (entry point group ``guichet.demo``); returns lines to print."""
    lines: list[str] = []
    for entry in entry_points(group="guichet.demo"):
        lines.extend(entry.load()() or [])
    return lines


def main(args) -> None:
    settings = load_settings()
    data_dir = settings.data_dir.resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        town = load_town(settings.town_settings)
    except TownSettingsError as error:
        raise SystemExit(f"Town settings: {error}") from error

    env = dict(os.environ, GUICHET_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    smtp, page = settings.mailcatcher_smtp_port, settings.mailcatcher_http_port
    env.setdefault("GUICHET_NOTIFICATIONS_SMTP_HOST", "127.0.0.1")
    env.setdefault("GUICHET_NOTIFICATIONS_SMTP_PORT", str(smtp))

    # The mail catcher's page shows the SMS of the development provider: the files the notifications
    # service writes to, found from the same town settings and data directory it is given.
    catcher = MailCatcher(data_dir / "mail", smtp_port=smtp, http_port=page,
                          sms_files=smsfile.sms_files(town, data_dir),
                          timezone=town.get("timezone") or "Europe/Paris").start()
    children = [Child(name, [sys.executable, "-m", "guichet_common.cli", "service", name], env, log_dir)
                for name in installed()]
    children.append(Child("gateway", [sys.executable, "-m", "gunicorn", "-c", "python:guichet_gateway.gunicorn_conf",
                                      "guichet_gateway.wsgi:app"], env, log_dir))
    for child in children:
        child.start()

    demo = [] if args.no_demo else _demo_lines()
    host = settings.gateway_bind
    print(f"""
Guichet — {town['name']} — is starting (logs in {log_dir}).
  API           http://{host}/api/v1
  API docs      http://{host}/api/docs   (OpenAPI: http://{host}/api/openapi.json)
  Health        http://{host}/api/health  ·  readiness: http://{host}/api/ready
  Mail catcher  http://127.0.0.1:{page}/   (SMTP 127.0.0.1:{smtp}; or run: .venv/bin/guichet mail)
  SMS           on the same page, section SMS   (or run: .venv/bin/guichet sms)
  Services      {', '.join(installed())}
  Dead letters  .venv/bin/guichet dlq list
""" + ("\n".join(demo) + "\n" if demo else "") + "Press Ctrl-C to stop everything.", flush=True)

    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    restart = not args.no_restart
    try:
        while not stopping.wait(0.5):
            if not supervise(children, stopping, restart=restart):
                break
    finally:
        print("\nStopping…", flush=True)
        for child in children:
            child.stop()
        for child in children:
            child.wait(20)
        catcher.stop()
        print("Stopped.", flush=True)


def supervise(children: list[Child], stopping: threading.Event, *, restart: bool) -> bool:
    """One look at the children: restart those that exited, or (``restart=False``) only say so once;
    False when everything must stop."""
    if restart:
        return _restart_crashed(children, stopping)
    _report_exited(children)
    return True


def _restart_crashed(children: list[Child], stopping: threading.Event) -> bool:
    """Restarts the children that exited (unless stopping); False once one has crashed too often."""
    for child in children:
        code = child.exit_code()
        if code is None or stopping.is_set():
            continue
        if child.restarts >= MAX_RESTARTS:
            print(f"{child.name} keeps crashing; see {child.log_path}. Stopping.", flush=True)
            return False
        child.restarts += 1
        print(f"{child.name} exited ({code}); restarting "
              f"({child.restarts}/{MAX_RESTARTS}), log: {child.log_path}", flush=True)
        time.sleep(min(2 ** child.restarts, 10))
        child.start()
    return True


def _report_exited(children: list[Child]) -> None:
    """--no-restart: say once that a child exited; it stays down (the drill restarts it by hand)."""
    for child in children:
        code = child.exit_code()
        if code is not None and not child.exit_reported:
            child.exit_reported = True
            print(f"{child.name} exited ({code}); not restarted (--no-restart), log: {child.log_path}", flush=True)


def _demo_lines() -> list[str]:
    try:
        lines = load_demo_data()
    except Exception as error:  # demo data must never prevent the suite from starting
        return [f"Demo data could not be loaded: {error}"]
    return lines or ["No demo data yet: the domain services that own it have not been built."]
