"""Delivery: lease due notifications, send each through its client, record the outcome, retry with backoff;
and the SMS whose delivery report never came.

A notification stays ``created`` (or ``temporary-failure``) while a provider call is in flight, leased to
the batch attempting it (:mod:`.leases`): a crash there means one more attempt once the lease expired
(at-least-once, as every mail system). Each attempt's outcome is committed on its own as soon as the provider
answered, never once per batch: a guarded status change (``repository.STATUS``) with its history line, and
its event when it is final.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import sqlalchemy as sa

from guichet_common import context

from .. import repository
from ..adapters.email_message import OutgoingEmail
from ..adapters.sms import OutgoingSms
from ..domain.delivery import NotificationStatus as S
from ..domain.delivery import SendReceipt, as_failure, redact
from ..domain.reports import NO_RECEIPT, no_receipt_reason
from .context import Context, log, outcome
from .leases import Lease, Leases
from .preparation import attachments, check_subscribed, prepare


class Delivery:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.leases = Leases(ctx)

    def lease_due(self, limit: int = 50) -> Lease:
        """Due notifications, leased to a new batch of this process."""
        return self.leases.take(limit)

    def deliver_due(self, limit: int = 50, run_batch: Callable[[Lease], None] | None = None) -> int:
        """Lease due notifications and attempt each (one after the other, or through ``run_batch(lease)``,
        which keeps the lease alive while it works); how many were leased."""
        lease = self.lease_due(limit)
        if not lease.ids:
            return 0
        if run_batch is None:
            for notification_id in lease.ids:
                self.deliver(notification_id, lease.token)
        else:
            run_batch(lease)
        return len(lease.ids)

    def deliver(self, notification_id: str, lease_token: str | None = None) -> str:
        """One attempt for one notification (leased under ``lease_token``: skipped if that lease was lost to
        another process); returns its new status."""
        token = context.correlation_id.set(None)
        try:
            return self._deliver(notification_id, lease_token)
        finally:
            context.correlation_id.reset(token)

    def _attempt(self, session, row: dict, changes: dict) -> SendReceipt:
        if not row["channel"] or not row["recipient_address"] or row["body"] is None:
            changes.update(prepare(self.ctx, session, row).values())
            row.update(changes)
        else:  # prepared when requested: the recipient may have opted out since
            check_subscribed(session, row["essential"], row["recipient_account_id"], row["channel"],
                             row["recipient_address"])
        return self._send(row)

    def _failed(self, row: dict, error: Exception, changes: dict, now) -> tuple[str, bool]:
        failure = as_failure(error)
        if failure.code == "unexpected_error":
            log.exception("notification delivery failed unexpectedly", extra={"fields": {"notification_id": row["id"]}})
        decision = self.ctx.retry.decide(failure, changes["attempts"], now)
        changes.update(status=decision.status.value, next_attempt_at=decision.retry_at,
                       failure_code=failure.code[:50], failure_reason=redact(decision.reason, 500),
                       provider=failure.provider)
        return changes["failure_reason"], not decision.retry

    def _deliver(self, notification_id: str, lease_token: str | None) -> str:
        with self.ctx.database.unit_of_work() as uow:
            found = repository.notification(uow.session, notification_id)
            if found is None or found["status"] not in repository.WAITING:
                return found["status"] if found else "missing"
            if lease_token is not None and found["lease_token"] != lease_token:
                log.warning("notification lease lost before its attempt (another process has it)",
                            extra={"fields": {"notification_id": notification_id}})
                return found["status"]
            row = dict(found)
            context.correlation_id.set(row.get("correlation_id") or context.new_id())
            now = self.ctx.clock()
            changes: dict[str, Any] = {"attempts": row["attempts"] + 1, "updated_at": now, "lease_token": None}
            try:
                receipt = self._attempt(uow.session, row, changes)
            except sa.exc.SQLAlchemyError:
                raise  # the database: the lease expires (no more renewal after the batch) and it is tried again
            except Exception as error:  # every failure is classified and recorded
                detail, final = self._failed(row, error, changes, now)
            else:
                changes.update(status=str(receipt.status), next_attempt_at=None, provider=receipt.provider,
                               provider_reference=(receipt.reference or "")[:255] or None, sent_at=now,
                               failure_code=None, failure_reason=None)
                detail, final = redact(receipt.detail or receipt.provider, 500), True
            current, new = found["status"], changes.pop("status")
            row.update(changes, status=new)
            if not repository.STATUS.change(uow, notification_id, current=current, new=new, changes=changes,
                                            detail=detail, at=now, outcome=outcome(row) if final else None):
                log.warning("notification changed during its delivery attempt",
                            extra={"fields": {"notification_id": notification_id}})
                return current
            uow.commit()
        return new

    def _send(self, row: dict) -> SendReceipt:
        if row["channel"] == "email":
            essential = row["essential"]
            email = OutgoingEmail(
                to=row["recipient_address"], subject=row["subject"], text=row["body"], html=row["body_html"],
                essential=essential, reference=row["id"],
                unsubscribe_url=None if essential else self.ctx.unsubscribe.link_for(
                    row["recipient_account_id"], row["recipient_address"], self.ctx.clock()),
                unsubscribe_mailto=None if essential else self.ctx.unsubscribe.mailto,
                attachments=attachments(json.loads(row["personalisation"] or "{}")))
            return self.ctx.email_client.send(email)
        return self.ctx.sms_client.send(OutgoingSms(to=row["recipient_address"], text=row["body"],
                                                    reference=row["id"]))

    def expire_unconfirmed(self, limit: int = 500) -> int:
        """Turn SMS whose delivery report never came (``receipt_timeout`` after acceptance) into temporary
        failures, not retried (the provider has the message; sending it again could deliver it twice)."""
        now = self.ctx.clock()
        reason = no_receipt_reason(self.ctx.receipt_timeout)
        expired = 0
        with self.ctx.database.unit_of_work() as uow:
            for found in repository.unconfirmed_sms(uow.session, now - self.ctx.receipt_timeout, limit):
                changes = {"failure_code": NO_RECEIPT, "failure_reason": reason, "next_attempt_at": None,
                           "updated_at": now}
                row = {**found, **changes, "status": S.TEMPORARY_FAILURE.value}
                if repository.STATUS.change(uow, row["id"], current=found["status"], new=S.TEMPORARY_FAILURE,
                                            changes=changes, detail=reason, at=now, outcome=outcome(row)):
                    expired += 1  # not changed: a report arrived meanwhile
            uow.commit()
        return expired
