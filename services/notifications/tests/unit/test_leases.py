"""Leases of the delivery loop and per-mail outcomes, on SQLite: a batch is held under its own token for a
short lease, renewed while the process works, taken by another process once a dead one stopped renewing;
each mail's outcome is committed as soon as the server accepted it, so a crash repeats only mails in flight."""
import datetime as dt
import logging
import smtplib

import pytest
import sqlalchemy as sa

from guichet_common.db import utcnow
from guichet_notifications.adapters.email import EmailClient
from guichet_notifications.application import LoopSettings
from guichet_notifications.application.leases import Lease, LeaseKeeper
from guichet_notifications.domain.delivery import RetryPolicy
from guichet_notifications.models import notifications

from .. import factories

LEASE = dt.timedelta(seconds=30)


@pytest.fixture
def clock():
    return factories.Clock()


@pytest.fixture
def notifier(tmp_path, clock):
    with factories.application(tmp_path, clock, lease=LEASE,
                               retry=RetryPolicy(base_delay=600, jitter=0, max_attempts=3)) as app:
        yield app


def request(app, count: int) -> list[str]:
    return [factories.request(app, recipient={"email": f"citoyen{i}@example.org"}) for i in range(count)]


def rows(app) -> dict[str, dict]:
    """Every notification as the database has it now (a connection of its own: only what is committed)."""
    with app.ctx.database.engine.connect() as connection:
        return {row["id"]: dict(row) for row in connection.execute(sa.select(notifications)).mappings()}


def test_a_batch_is_leased_once_for_the_lease_and_taken_again_when_its_process_stopped_renewing(notifier, clock):
    ids = request(notifier, 3)
    lease = notifier.delivery.lease_due()
    assert sorted(lease.ids) == sorted(ids) and len(lease.token) == 32
    for row in rows(notifier).values():
        assert row["lease_token"] == lease.token and row["next_attempt_at"] == clock.now + LEASE
    assert notifier.delivery.lease_due().ids == ()  # another process, at the same time
    clock.advance(LEASE.total_seconds() - 1)
    assert notifier.delivery.lease_due().ids == ()  # nearly expired: still this batch's
    clock.advance(2)
    taken = notifier.delivery.lease_due()  # the process died: no renewal
    assert sorted(taken.ids) == sorted(ids) and taken.token != lease.token


def test_renewal_extends_the_waiting_mails_only_never_a_recorded_outcome(notifier, clock):
    notifier.ctx.email_client.failures = [smtplib.SMTPResponseException(451, b"greylisted")]
    request(notifier, 3)
    lease = notifier.delivery.lease_due()
    failed, delivered, waiting = lease.ids
    assert notifier.delivery.deliver(failed, lease.token) == "temporary-failure"
    assert notifier.delivery.deliver(delivered, lease.token) == "delivered"
    retry_at = rows(notifier)[failed]["next_attempt_at"]
    clock.advance(20)
    assert notifier.delivery.leases.renew(lease) == 1
    now = rows(notifier)
    assert now[waiting]["next_attempt_at"] == clock.now + LEASE and now[waiting]["lease_token"] == lease.token
    assert now[failed]["next_attempt_at"] == retry_at and now[failed]["lease_token"] is None
    assert now[delivered]["next_attempt_at"] is None and now[delivered]["lease_token"] is None
    clock.advance(LEASE.total_seconds() - 1)  # past the first lease, within the renewed one
    assert notifier.delivery.lease_due().ids == ()


def test_an_attempt_whose_lease_another_process_took_sends_nothing(notifier, clock):
    [notification_id] = request(notifier, 1)
    mine = notifier.delivery.lease_due()
    clock.advance(LEASE.total_seconds() + 1)  # this process stalled past its lease
    theirs = notifier.delivery.lease_due()
    assert theirs.ids == (notification_id,)
    assert notifier.delivery.deliver(notification_id, mine.token) == "created"
    assert notifier.ctx.email_client.messages == []
    assert notifier.delivery.deliver(notification_id, theirs.token) == "delivered"
    assert len(notifier.ctx.email_client.messages) == 1
    assert rows(notifier)[notification_id]["attempts"] == 1


class WatchingEmailClient(EmailClient):
    """Records, at each send, what the database holds (committed) at that instant, then sends through
    ``client``, after ``wait()`` (a slow server)."""

    def __init__(self, app, client: EmailClient, wait=lambda: None):
        self.app, self.client, self.wait, self.seen = app, client, wait, []

    def send(self, email):
        self.seen.append((utcnow(), rows(self.app), self.app.delivery.lease_due().ids))
        self.wait()
        return self.client.send(email)


def test_each_outcome_is_committed_as_soon_as_the_server_accepted_it_not_once_per_batch(notifier):
    recording = notifier.ctx.email_client
    notifier.ctx.email_client = WatchingEmailClient(notifier, recording)
    notifier.loop.settings = LoopSettings(concurrency=1)
    ids = request(notifier, 4)
    assert notifier.delivery.deliver_due(run_batch=notifier.loop._deliver_batch) == 4
    for position, (_at, committed, _taken) in enumerate(notifier.ctx.email_client.seen):
        statuses = [committed[notification_id]["status"] for notification_id in ids]
        # a crash during this send would repeat this mail only: the ones before are recorded as delivered
        assert statuses.count("delivered") == position, statuses
    assert len(recording.messages) == 4


def test_a_batch_slower_than_its_lease_keeps_it_while_its_process_lives(tmp_path):
    import eventlet

    lease = dt.timedelta(seconds=0.3)
    with factories.application(tmp_path, utcnow, lease=lease) as app:
        watching = WatchingEmailClient(app, app.ctx.email_client, wait=lambda: eventlet.sleep(0.25))
        app.ctx.email_client = watching
        app.loop.settings = LoopSettings(concurrency=1)
        ids = request(app, 4)
        started = utcnow()
        assert app.delivery.deliver_due(run_batch=app.loop._deliver_batch) == 4
        assert utcnow() - started > 2 * lease  # each mail waited on the server: the batch outlived its lease
        for position, (at, committed, taken) in enumerate(watching.seen):
            assert taken == ()  # another process would have found nothing to take
            for notification_id in ids[position:]:  # this mail and the ones after it: still leased
                assert committed[notification_id]["next_attempt_at"] > at
        assert len(app.ctx.email_client.client.messages) == 4


class BrokenLeases:
    renew_every = 0.0

    def renew(self, lease):
        raise sa.exc.OperationalError("UPDATE", {}, Exception("database unreachable"))


def test_a_failed_renewal_is_logged_and_the_heartbeat_goes_on(caplog):
    beats = []

    def sleep(_seconds):
        beats.append(1)
        if len(beats) == 3:
            keeper.stop()

    keeper = LeaseKeeper(BrokenLeases(), Lease("t" * 32, ("n-1",)), sleep=sleep)
    with caplog.at_level(logging.ERROR, logger="guichet_notifications.application"):
        keeper.run()
    assert len(beats) == 3 and keeper.renewals == 0
    assert [r.getMessage() for r in caplog.records] == ["could not renew the lease of a delivery batch"] * 2


def test_the_lease_is_renewed_three_times_per_lease(notifier):
    assert notifier.delivery.leases.renew_every == 10
