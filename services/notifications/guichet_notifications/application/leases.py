"""Leases: the batch of due notifications one process works on, and its heartbeat.

A process takes due notifications under a token of its own for ``ctx.lease``
(GUICHET_NOTIFICATIONS_LEASE_SECONDS, 20 s by default) and renews that lease every third of it while the
batch is in progress (:class:`LeaseKeeper`); each attempt's outcome is committed on its own, as soon as the
provider answered, and clears the token. A process that dies stops renewing: its notifications are due again
at most one lease later and any process takes them. Only the attempts in flight at the crash (the SMTP server
may have accepted the mail, its outcome was not recorded) are made again: at-least-once delivery.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

from .. import repository
from .context import Context, log

RENEWALS_PER_LEASE = 3
"""A lease is renewed this many times per lease duration: two renewals may fail before it expires."""


@dataclass(frozen=True)
class Lease:
    """Due notifications (``ids``, oldest due first) held by one batch under ``token``."""

    token: str
    ids: tuple[str, ...]


class Leases:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def take(self, limit: int) -> Lease:
        """Lease up to ``limit`` due notifications to a new batch (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
        replicas share the work)."""
        token = uuid.uuid4().hex
        now = self.ctx.clock()
        with self.ctx.database.unit_of_work() as uow:
            ids = repository.lease_due(uow.session, now, now + self.ctx.lease, limit, token,
                                       skip_locked=self.ctx.postgres)
            uow.commit()
        return Lease(token, tuple(ids))

    def renew(self, lease: Lease) -> int:
        """Extend the lease of the batch's notifications still waiting for their attempt; how many."""
        with self.ctx.database.unit_of_work() as uow:
            renewed = repository.renew_leases(uow.session, lease.ids, lease.token, self.ctx.clock() + self.ctx.lease)
            uow.commit()
        return renewed

    @property
    def renew_every(self) -> float:
        """Seconds between two renewals of a batch's lease."""
        return self.ctx.lease.total_seconds() / RENEWALS_PER_LEASE


class LeaseKeeper:
    """The heartbeat of one batch: renews its lease every :attr:`Leases.renew_every` seconds until
    :meth:`stop`. A failed renewal (database unreachable) is logged and tried again at the next beat."""

    def __init__(self, leases: Leases, lease: Lease, sleep: Callable[[float], None] = time.sleep):
        self.leases = leases
        self.lease = lease
        self.sleep = sleep
        self.stopped = False
        self.renewals = 0

    def beat(self) -> None:
        try:
            self.leases.renew(self.lease)
            self.renewals += 1
        except Exception:  # the lease may expire: another process then takes the notifications
            log.exception("could not renew the lease of a delivery batch",
                          extra={"fields": {"notifications": len(self.lease.ids)}})

    def run(self) -> None:
        while not self.stopped:
            self.sleep(self.leases.renew_every)
            if not self.stopped:
                self.beat()

    def stop(self) -> None:
        self.stopped = True
