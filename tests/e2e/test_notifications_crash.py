"""A notifications process killed (SIGKILL) while a batch of mails is in flight, then restarted.

Promise (docs/operations.md, "Faults"): a live process keeps renewing the leases of its batch, so a peer does
not take them; the leases of a dead one expire within GUICHET_NOTIFICATIONS_LEASE_SECONDS and every mail goes
out within seconds of the restart; only the mails the SMTP server had received when the process died (in
flight, outcome not recorded) can go twice.

The SMTP server is a real one (aiosmtpd) that keeps each mail as soon as its content arrives, then holds its
``250`` reply until the test releases it: the batch stays in flight as long as the test wants, and the mails
held at the kill are exactly those whose outcome the process never learnt.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller

from guichet_common import migrations
from guichet_common.testing import publish, wait_for
from guichet_contracts import types
from guichet_contracts.envelope import make_envelope

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

LEASE_SECONDS = 3
CONCURRENCY = 4
BATCH = 20
ACK = {"demande_number": "DEM-2026-000123", "procedure_name": "Inscription scolaire",
       "submitted_at": "2026-03-02T10:15:00+01:00"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HoldingSmtpServer:
    """Keeps every mail when its content arrives; the n-th one (0-based) is answered ``250`` only once
    :meth:`release` let more than n through."""

    def __init__(self):
        self.received: list[str] = []
        self.released = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            index = len(self.received)
            self.received.extend(envelope.rcpt_tos)
        while True:
            with self.lock:
                if index < self.released:
                    return "250 2.0.0 Ok: queued"
            await asyncio.sleep(0.02)

    def release(self, count: int = 10 ** 6) -> None:
        with self.lock:
            self.released = count

    def recipients(self) -> list[str]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def smtp():
    server = HoldingSmtpServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield server, controller.port
    server.release()
    controller.stop()


def request_mail(amqp_uri: str, address: str) -> None:
    envelope = make_envelope(type=types.NOTIFICATION_REQUESTED, source="accounts",
                             data={"template": "demande_acknowledgement", "recipient": {"email": address},
                                   "personalisation": ACK})
    publish(amqp_uri, "notifications.commands", types.NOTIFICATION_REQUESTED, envelope)


def count_notifications(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one()


def test_a_killed_process_mid_batch_delays_mail_by_seconds_and_repeats_only_mails_in_flight(
        processes, databases, smtp, amqp_uri, tmp_path):
    server, port = smtp
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512",
                                    "public_url": "https://ville.example"}), encoding="utf-8")
    url = databases.new("notifications")
    migrations.upgrade("guichet_notifications", url)
    engine = sa.create_engine(url)
    env = {"GUICHET_TOWN_SETTINGS": str(town), "GUICHET_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
           "GUICHET_NOTIFICATIONS_SMTP_PORT": port, "GUICHET_NOTIFICATIONS_POLL_INTERVAL": "0.2",
           "GUICHET_NOTIFICATIONS_CONCURRENCY": CONCURRENCY,
           "GUICHET_NOTIFICATIONS_LEASE_SECONDS": LEASE_SECONDS,
           # held mails must not time out (a timeout is a temporary failure, retried later): the test decides
           "GUICHET_NOTIFICATIONS_SMTP_TIMEOUT": 120}
    first = processes.service("notifications", "notifications", url, **env)
    try:
        # One mail held at the server keeps the delivery loop busy while the batch is recorded...
        request_mail(amqp_uri, "bloqueur@example.org")
        wait_for(lambda: len(server.recipients()) == 1, timeout=20, message="the first mail at the server")
        addresses = [f"citoyen{i}@example.org" for i in range(BATCH)]
        for address in addresses:
            request_mail(amqp_uri, address)
        wait_for(lambda: count_notifications(engine) == BATCH + 1, timeout=20, message="every request recorded")
        # ...then the loop leases all of them at once and sends CONCURRENCY of them, which the server holds.
        server.release(1)
        wait_for(lambda: len(server.recipients()) == 1 + CONCURRENCY, timeout=20, message="a batch in flight")

        # A live process renews its leases: a peer started meanwhile takes none of its mails.
        peer = processes.service("notifications", "notifications", url, **env)
        time.sleep(2 * LEASE_SECONDS + 1)
        assert len(server.recipients()) == 1 + CONCURRENCY, server.recipients()
        in_flight = set(server.recipients()[1:])
        peer.stop()  # the restarted process alone has to take the dead one's mails

        first.kill()
        killed = time.monotonic()
        server.release()  # the held mails were received: the dead process never learnt it
        restarted = time.monotonic()
        processes.service("notifications", "notifications", url, wait=False, **env)
        wait_for(lambda: set(addresses) <= set(server.recipients()), timeout=30,
                 message="every mail within 30 s of the restart")
        delay, since_kill = time.monotonic() - restarted, time.monotonic() - killed
    finally:
        engine.dispose()

    time.sleep(1.0)  # nothing more may come
    copies = Counter(server.recipients())
    assert set(copies) == {"bloqueur@example.org", *addresses}
    duplicated = {address for address, count in copies.items() if count > 1}
    assert duplicated <= in_flight and all(copies[address] <= 2 for address in duplicated), copies
    print(f"\nevery mail {delay:.1f} s after the restart ({since_kill:.1f} s after the kill, lease {LEASE_SECONDS} s); "
          f"{len(duplicated)} sent twice of {len(in_flight)} in flight")
