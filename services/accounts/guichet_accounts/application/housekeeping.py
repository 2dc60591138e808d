"""The hourly purge of what can no longer serve."""
from __future__ import annotations

import datetime as dt

from .base import UseCases


class Housekeeping(UseCases):
    def purge_expired(self, *, revoked_kept: dt.timedelta = dt.timedelta(days=1)) -> dict:
        """Delete expired or used links, ended sessions, stale throttle records and captchas. Revoked sessions
        are kept a day so a stolen refresh token replayed soon after still reads as "reused" in the logs;
        after that it is simply unknown (the same 401)."""
        now = self.clock()
        with self.work() as (uow, repos):
            purged = {"links": repos.links.delete_spent(now),
                      "sessions": repos.sessions.delete_ended(now, now - revoked_kept),
                      "throttle_records": repos.throttle.delete_expired(now),
                      "captchas": repos.captchas.delete_expired(now)}
            uow.commit()
        return purged
