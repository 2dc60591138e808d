"""SMS delivery reports: a provider tells what became of an SMS it accepted.

The provider's report secret is the proof (checked here in constant time: the gateway only forwards the
report, and a caller header on the broker is not signed). A report about a message we do not know, with no
meaning, or repeating the current status is acknowledged and changes nothing (``outcome``: ``ignored`` /
``unchanged``); a status change is a guarded one (``repository.STATUS``): history line and
``notification.delivered`` / ``notification.failed`` in the same unit of work, once (two copies of one report
racing change it once).
"""
from __future__ import annotations

from typing import Any

from .. import repository
from ..domain import reports as reports_domain
from ..domain.delivery import NotificationStatus as S
from ..exceptions import SmsReportForbidden, UnknownSmsProvider
from .context import Context, log, outcome

IGNORED, UNCHANGED, UPDATED = "ignored", "unchanged", "updated"


class Reports:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def authenticate(self, provider: str, token) -> None:
        """:class:`UnknownSmsProvider` or :class:`SmsReportForbidden` unless ``token`` is ``provider``'s secret."""
        secrets = self.ctx.sms_report_secrets.get(provider)
        if not secrets:
            raise UnknownSmsProvider()
        if not reports_domain.token_matches(secrets, token):
            raise SmsReportForbidden()

    @staticmethod
    def _changes(new: S, result: reports_domain.ReportOutcome, now) -> dict[str, Any]:
        changes: dict[str, Any] = {"updated_at": now}
        if new == S.DELIVERED:
            changes.update(failure_code=None, failure_reason=None)
        else:
            changes.update(failure_code=result.code, failure_reason=result.reason, next_attempt_at=None)
        return changes

    def sms_report(self, provider: str, token, report: dict) -> dict:
        """A delivery report of ``provider`` about one SMS it accepted (see the module documentation)."""
        self.authenticate(provider, token)
        result = reports_domain.brevo_outcome((report or {}).get("msg_status"))
        references = reports_domain.brevo_references(report or {})
        if not references:
            return {"outcome": IGNORED}
        now = self.ctx.clock()
        with self.ctx.database.unit_of_work() as uow:
            found = repository.reported_sms(uow.session, provider, references)
            if found is None:
                return {"outcome": IGNORED}
            if found["status"] == S.TEMPORARY_FAILURE.value and found["next_attempt_at"] is not None:
                return {"outcome": UNCHANGED}  # a retry is scheduled: that attempt's own receipt will tell
            new = reports_domain.new_status(found["status"], result)
            if new is None:
                return {"outcome": UNCHANGED}
            changes = self._changes(new, result, now)
            detail = f"compte rendu {provider} : {result.provider_status}" + (
                f" — {result.reason}" if result.reason else "")
            row = {**found, **changes, "status": new.value}
            if not repository.STATUS.change(uow, found["id"], current=found["status"], new=new, changes=changes,
                                            detail=detail, at=now, outcome=outcome(row)):
                return {"outcome": UNCHANGED}  # another copy of the report got there first
            uow.commit()
        log.info("sms delivery report applied", extra={"fields": {"notification_id": found["id"], "status": new.value,
                                                                   "provider": provider}})
        return {"outcome": UPDATED}
