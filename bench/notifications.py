"""Notifications benchmark: commands published on the broker → the real notifications process →
mails in a local SMTP sink (aiosmtpd).

Measures notifications accepted per second (rows recorded by the command handler),
delivered per second (mails received by the sink) and the latency from the command's
publication to the mail's arrival (p50, p99). Run alone with ``python -m bench.notifications``;
``python -m bench`` prints it as its last section.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import re
import socket
import threading
import time
from pathlib import Path

import pika
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller

from bench.tools import in_fresh_vhost, service_env, start_service, stop
from guichet_common import amqp, migrations
from guichet_contracts import types
from guichet_contracts.envelope import make_envelope

COUNT = int(os.environ.get("BENCH_NOTIFICATIONS", "2000"))
PACED_RATE = float(os.environ.get("BENCH_NOTIFICATIONS_RATE", "50"))
PACED_COUNT = int(os.environ.get("BENCH_NOTIFICATIONS_PACED", "500"))
REQUESTED = types.NOTIFICATION_REQUESTED
REPO = Path(__file__).resolve().parents[1]
SUBJECT = re.compile(r"n° (BENCH(?:-P)?-\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    def __init__(self):
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.perf_counter()
        subject = str(email.message_from_bytes(envelope.original_content, policy=email.policy.default)["Subject"])
        match = SUBJECT.search(subject)
        with self.lock:
            self.arrivals[match.group(1) if match else f"?{len(self.arrivals)}"] = now
        return "250 OK"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _publish(amqp_uri: str, published: dict, prefix: str, count: int, *, rate: float | None) -> None:
    connection = amqp.connect(amqp_uri, name="bench-notifications")
    channel = amqp.publishing_channel(connection, "notifications.commands")
    started = time.perf_counter()
    for i in range(count):
        if rate:
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        ref = f"{prefix}-{i:06d}"
        envelope = make_envelope(type=REQUESTED, source="demarches", data={
            "template": "demande_acknowledgement", "recipient": {"email": f"citoyen{i}@example.org"},
            "personalisation": {"demande_number": ref, "procedure_name": "Inscription scolaire",
                                "submitted_at": "2026-03-02T10:15:00+01:00"}})
        published[ref] = time.perf_counter()
        channel.basic_publish("notifications.commands", REQUESTED, json.dumps(envelope).encode(),
                              pika.BasicProperties(message_id=envelope["id"], delivery_mode=2,
                                                   content_type="application/cloudevents+json"))
    connection.close()


def run(workdir: Path, amqp_uri: str, count: int = COUNT) -> dict:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    db_url = f"sqlite:///{workdir / 'notifications.sqlite3'}"
    migrations.upgrade("guichet_notifications", db_url)
    town = workdir / "town.yaml"
    town.write_text(yaml.safe_dump({"name": "Ville de Bench", "insee_code": "59512",
                                    "public_url": "https://ville.example"}), encoding="utf-8")
    env = service_env(workdir, amqp_uri, GUICHET_NOTIFICATIONS_DATABASE_URL=db_url, GUICHET_TOWN_SETTINGS=str(town),
                      GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1", GUICHET_NOTIFICATIONS_SMTP_PORT=str(port),
                      GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.05")
    service = start_service("notifications", env, workdir / "notifications.log")
    engine = sa.create_engine(db_url)
    try:
        deadline = time.monotonic() + 30
        while True:  # ready once the templates are seeded and the queue is bound
            try:
                with engine.connect() as c:
                    if c.execute(sa.text("SELECT count(*) FROM templates")).scalar():
                        break
            except sa.exc.OperationalError:
                pass
            if time.monotonic() > deadline or service.poll() is not None:
                raise RuntimeError("notifications service did not start; see " + str(workdir))
            time.sleep(0.2)
        time.sleep(1.0)
        published: dict[str, float] = {}
        started = time.perf_counter()
        _publish(amqp_uri, published, "BENCH", count, rate=None)
        publish_done = time.perf_counter()
        accepted_at = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if accepted_at is None:
                with engine.connect() as c:
                    if c.execute(sa.text("SELECT count(*) FROM notifications")).scalar() >= count:
                        accepted_at = time.perf_counter()
            with sink.lock:
                if len(sink.arrivals) >= count:
                    break
            time.sleep(0.05)
        with sink.lock:
            received = len(sink.arrivals)
            delivered_at = max(sink.arrivals.values()) if sink.arrivals else time.perf_counter()
        latencies = [(sink.arrivals[ref] - t) * 1000 for ref, t in published.items() if ref in sink.arrivals]
        paced: dict[str, float] = {}
        if PACED_COUNT:  # latency without a backlog: commands at a steady rate
            _publish(amqp_uri, paced, "BENCH-P", PACED_COUNT, rate=PACED_RATE)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(ref in sink.arrivals for ref in paced):
                time.sleep(0.05)
        paced_latencies = [(sink.arrivals[ref] - t) * 1000 for ref, t in paced.items() if ref in sink.arrivals]
        return {
            "paced_rate": PACED_RATE, "paced_count": PACED_COUNT, "paced_received": len(paced_latencies),
            "paced_p50_ms": _percentile(paced_latencies, 0.50) if paced_latencies else float("nan"),
            "paced_p99_ms": _percentile(paced_latencies, 0.99) if paced_latencies else float("nan"),
            "count": count, "received": received,
            "publish_per_s": count / (publish_done - started),
            "accepted_per_s": count / ((accepted_at or time.perf_counter()) - started),
            "delivered_per_s": received / (delivered_at - started),
            "p50_ms": _percentile(latencies, 0.50) if latencies else float("nan"),
            "p99_ms": _percentile(latencies, 0.99) if latencies else float("nan"),
        }
    finally:
        engine.dispose()
        stop(service)
        controller.stop()


def report(result: dict) -> None:
    print(f"\nnotifications ({result['count']} commands → SMTP sink, SQLite, one service process): "
          f"accepted {result['accepted_per_s']:.0f}/s, delivered {result['delivered_per_s']:.0f}/s "
          f"({result['received']}/{result['count']} mails), command → mail p50 {result['p50_ms']:.0f} ms, "
          f"p99 {result['p99_ms']:.0f} ms (burst: queueing included)")
    print(f"notifications at a steady {result['paced_rate']:.0f}/s ({result['paced_received']}/"
          f"{result['paced_count']} mails): command → mail p50 {result['paced_p50_ms']:.0f} ms, "
          f"p99 {result['paced_p99_ms']:.0f} ms")


def main() -> None:
    report(in_fresh_vhost(run, "guichet-bench-notifications-", needs_wrk=False))


if __name__ == "__main__":
    main()
