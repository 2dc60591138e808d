"""Retention: the personalisation and rendered content of finished notifications are emptied after the
town's retention period (``retention.notification_content_days``); the delivery record stays."""
from __future__ import annotations

import datetime as dt

from .. import repository
from .context import Context


class Housekeeping:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def purge(self) -> int:
        """Empty the content of finished notifications older than the retention; how many were emptied."""
        now = self.ctx.clock()
        with self.ctx.database.unit_of_work() as uow:
            purged = repository.purge_content(uow.session, now - dt.timedelta(days=self.ctx.retention_days), now)
            uow.commit()
        return purged
