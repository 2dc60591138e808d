"""The delivery loop: a managed thread of the service process that sends due
notifications, and the periodic retention purge.

It leases due notifications in batches (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: replicas share the work), sends them concurrently on a green
pool, and sleeps ``GUICHET_NOTIFICATIONS_POLL_INTERVAL`` seconds when nothing
is due, unless a command handler wakes it up after recording a notification.
An error of the loop itself (database down) is logged and retried after the
poll interval: it never stops the service.
"""
from __future__ import annotations

import logging
import threading
import time

from nameko.extensions import DependencyProvider

from guichet_common.messaging import DatabaseProvider

from .adapters.email import RateLimitedEmailClient, RecordingEmailClient, SmtpEmailClient
from .adapters.sms import FailoverSmsClient
from .adapters.template_files import load_layouts, load_templates
from .application import Notifier
from .domain.delivery import RateLimiter
from .domain.rendering import TemplateRenderer
from .settings import load_settings

log = logging.getLogger(__name__)


class _TestModeEmailClient(RecordingEmailClient):
    """Test mode in a long-running process: builds and records, keeps only the last messages in memory."""

    keep = 100

    def send(self, email):
        receipt = super().send(email)
        with self._lock:
            del self.outbox[:-self.keep]
        return receipt


def build_notifier(database, settings, *, wake=None) -> Notifier:
    if settings.test_mode:
        email_client = _TestModeEmailClient(settings.identity)
    else:
        email_client = SmtpEmailClient(settings.smtp, settings.identity)
        rate = settings.section.get("smtp_rate_per_second")
        if rate:
            email_client = RateLimitedEmailClient(email_client, RateLimiter(rate), max_wait=1.0)
    sms_client = FailoverSmsClient(settings.sms_routes())
    renderer = TemplateRenderer(settings.branding, load_layouts(), sms_transliterate=settings.section["sms_transliterate"],
                                sms_max_segments=settings.section["sms_max_segments"])
    return Notifier(database, load_templates(), renderer, email_client=email_client, sms_client=sms_client,
                    retry=settings.retry, retention_days=settings.retention_days,
                    unsubscribe_url=settings.unsubscribe_base_url, unsubscribe_mailto=settings.unsubscribe_mailto,
                    unsubscribe_tokens=settings.unsubscribe_tokens(),
                    allow_international=settings.section["sms_allow_international"],
                    lease_seconds=settings.lease_seconds, sms_report_secrets=settings.sms_report_secrets(),
                    wake=wake)


class DeliveryLoop(DependencyProvider):
    def __init__(self, **kwargs):
        self.notifier: Notifier | None = None
        self._wakeup = threading.Event()
        self._running = False
        super().__init__(**kwargs)

    def setup(self):
        self.settings = load_settings()  # invalid settings stop the service at start-up

    def _database(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, DatabaseProvider):
                return dependency.database
        raise RuntimeError("the notifications service needs a DatabaseProvider")

    def start(self):
        self.notifier = build_notifier(self._database(), self.settings, wake=self._wakeup.set)
        self.notifier.seed_templates()
        self._running = True
        self.container.spawn_managed_thread(self._run, identifier="notifications-delivery")

    def stop(self):
        self._running = False
        self._wakeup.set()
        if self.notifier is not None:
            self.notifier.email_client.close()

    kill = stop

    def _deliver_batch(self, ids):
        import eventlet

        pool = eventlet.GreenPool(max(1, self.settings.concurrency))
        for notification_id in ids:
            pool.spawn_n(self._deliver_one, notification_id)
        pool.waitall()

    def _deliver_one(self, notification_id):
        try:
            self.notifier.deliver(notification_id)
        except Exception:  # noqa: BLE001 - the lease expires and it is tried again
            log.exception("could not record a delivery attempt",
                          extra={"fields": {"notification_id": notification_id}})

    def _run(self):
        last_purge = 0.0
        while self._running:
            try:
                if time.monotonic() - last_purge >= self.settings.purge_interval:
                    purged = self.notifier.purge()
                    expired = self.notifier.expire_unconfirmed()
                    last_purge = time.monotonic()
                    if purged:
                        log.info("notification content purged", extra={"fields": {"count": purged}})
                    if expired:
                        log.warning("sms without delivery report", extra={"fields": {"count": expired}})
                self._wakeup.clear()
                done = self.notifier.deliver_due(self.settings.batch_size, spawn=self._deliver_batch)
            except Exception:  # noqa: BLE001 - a database outage must not end the loop
                log.exception("delivery loop error")
                done = 0
            if not done and self._running:
                self._wakeup.wait(self.settings.poll_interval)

    def get_dependency(self, worker_ctx):
        return self.notifier
