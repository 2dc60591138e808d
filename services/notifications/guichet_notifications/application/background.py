"""The delivery loop: the background work of the service process (``Notifier.run``).

It leases due notifications in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: replicas share the
work), sends them concurrently on a green pool while a heartbeat renews the batch's lease (:mod:`.leases`),
and sleeps ``poll_interval`` seconds when nothing is due,
unless a command handler wakes it up after recording a notification. Every ``purge_interval`` it also
purges old content and expires SMS without a delivery report. An error of the loop itself (database down)
is logged and retried after the poll interval: it never stops the service.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .context import log
from .delivery import Delivery
from .housekeeping import Housekeeping
from .leases import Lease, LeaseKeeper


@dataclass(frozen=True)
class LoopSettings:
    poll_interval: float = 1.0
    batch_size: int = 50
    concurrency: int = 8
    purge_interval: float = 3600.0


class DeliveryLoop:
    def __init__(self, delivery: Delivery, housekeeping: Housekeeping, settings: LoopSettings):
        self.delivery = delivery
        self.housekeeping = housekeeping
        self.settings = settings
        self._wakeup = threading.Event()
        self._running = False
        self._last_purge: float | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        self._running = False
        self._wakeup.set()

    def _deliver_batch(self, lease: Lease) -> None:
        import eventlet  # the service process runs on eventlet: one green thread per attempt

        pool = eventlet.GreenPool(max(1, self.settings.concurrency))
        keeper = LeaseKeeper(self.delivery.leases, lease, sleep=eventlet.sleep)
        heartbeat = eventlet.spawn(keeper.run)
        try:
            for notification_id in lease.ids:
                pool.spawn_n(self._deliver_one, notification_id, lease.token)
            pool.waitall()
        finally:
            keeper.stop()
            heartbeat.kill()  # the batch is over: a renewal cut short is only rolled back

    def _deliver_one(self, notification_id: str, lease_token: str) -> None:
        try:
            self.delivery.deliver(notification_id, lease_token)
        except Exception:  # the lease expires and it is tried again
            log.exception("could not record a delivery attempt", extra={"fields": {"notification_id": notification_id}})

    def _housekeeping(self) -> None:
        if self._last_purge is not None and time.monotonic() - self._last_purge < self.settings.purge_interval:
            return
        purged = self.housekeeping.purge()
        expired = self.delivery.expire_unconfirmed()
        self._last_purge = time.monotonic()
        if purged:
            log.info("notification content purged", extra={"fields": {"count": purged}})
        if expired:
            log.warning("sms without delivery report", extra={"fields": {"count": expired}})

    def run(self) -> None:
        self._running = True
        while self._running:
            try:
                self._housekeeping()
                self._wakeup.clear()
                done = self.delivery.deliver_due(self.settings.batch_size, run_batch=self._deliver_batch)
            except Exception:  # a database outage must not end the loop
                log.exception("delivery loop error")
                done = 0
            if not done and self._running:
                self._wakeup.wait(self.settings.poll_interval)
