"""What every use case of the notifications service works with: the database, the templates and their
renderer, the delivery clients, the town's delivery rules and the clock (built by ``bootstrap.build``)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy.exc import IntegrityError

from guichet_common.db import Database, utcnow
from guichet_common.transitions import Outcome

from ..adapters.email import EmailClient
from ..adapters.sms import SmsClient
from ..domain.delivery import RetryPolicy, outcome_event
from ..domain.rendering import TemplateRenderer
from ..domain.reports import RECEIPT_TIMEOUT
from ..domain.templates import TemplateCatalog
from ..domain.unsubscribe import UnsubscribeLinks

log = logging.getLogger("guichet_notifications.application")


def _nothing() -> None:
    return None


@dataclass
class Context:
    database: Database
    catalog: TemplateCatalog
    renderer: TemplateRenderer
    email_client: EmailClient
    sms_client: SmsClient
    unsubscribe: UnsubscribeLinks = field(default_factory=UnsubscribeLinks)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retention_days: int = 90
    allow_international: bool = False
    lease: dt.timedelta = dt.timedelta(seconds=20)
    """How long a batch stays with its process without a renewal (renewed every third of it)."""
    sms_report_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    receipt_timeout: dt.timedelta = RECEIPT_TIMEOUT
    clock: Callable[[], dt.datetime] = utcnow
    wake: Callable[[], None] = _nothing
    """Called once a notification is ready to go, so the delivery loop does not wait for its next poll."""
    versions: dict[str, int] = field(default_factory=dict)
    """The recorded version of each template (set when the templates are seeded)."""

    @property
    def postgres(self) -> bool:
        return self.database.engine.dialect.name == "postgresql"

    def version(self, name: str) -> int:
        return self.versions.get(name) or self.catalog[name].version


def outcome(row: Mapping) -> Outcome:
    """The ``notification.delivered`` / ``notification.failed`` event of a notification in its final status."""
    return Outcome(*outcome_event(row))


def publish_outcome(uow, row: Mapping) -> None:
    event = outcome(row)
    uow.publish_event(event.type, event.data, subject=event.subject)


def with_retry(work: Callable[[], None], attempts: int = 2) -> None:
    """Run ``work`` (one unit of work) again when a concurrent insert of the same row made it fail."""
    for attempt in range(attempts):
        try:
            work()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
