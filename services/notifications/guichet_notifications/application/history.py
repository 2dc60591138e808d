"""What was sent: a citizen's own notifications; for agents, the search (failures included), one
notification with its status history, and resending. Answers are rows, shaped by the service's schemas."""
from __future__ import annotations

import uuid

from guichet_common import context

from .. import repository
from ..domain.delivery import NotificationStatus as S
from ..exceptions import ContentPurged, NotificationNotFound, StillSending
from .context import Context

RESENT_FIELDS = ("template", "recipient_account_id", "personalisation", "reference", "source", "essential")


class History:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def my_notifications(self, account_id: str, cursor: str | None = None, limit: int = 20) -> dict:
        """The notifications sent to ``account_id``, newest first: ``{items, next_cursor}``."""
        with self.ctx.database.engine.connect() as connection:
            page = repository.page_for_account(connection, account_id, cursor, limit)
        return page.to_dict(lambda row: dict(row._mapping))

    def search(self, *, status: str | None = None, recipient: str | None = None, template: str | None = None,
               failed: bool = False, cursor: str | None = None, limit: int = 20) -> dict:
        """Notifications by status, recipient (account id or address) or template; ``failed``: the ones given
        up on (permanent and technical failures, temporary ones out of retries)."""
        with self.ctx.database.engine.connect() as connection:
            page = repository.search(connection, status=status, recipient=recipient, template=template,
                                     failed=failed, cursor=cursor, limit=limit)
        return page.to_dict(lambda row: dict(row._mapping))

    def get(self, notification_id: str) -> dict:
        """One notification with its status history."""
        with self.ctx.database.engine.connect() as connection:
            row = repository.notification(connection, notification_id)
            if row is None:
                raise NotificationNotFound()
            history = repository.history(connection, notification_id)
        return {**row, "history": [dict(line) for line in history]}

    def resend(self, notification_id: str, agent_id: str | None = None) -> dict:
        """A new notification with the same template, recipient and personalisation (re-resolved)."""
        now = self.ctx.clock()
        with self.ctx.database.unit_of_work() as uow:
            row = repository.notification(uow.session, notification_id)
            if row is None:
                raise NotificationNotFound()
            if row["personalisation"] is None:
                raise ContentPurged()
            if row["status"] == S.CREATED.value or row["next_attempt_at"] is not None:
                raise StillSending()
            new = {key: row[key] for key in RESENT_FIELDS}
            new.update(id=str(uuid.uuid4()), status=S.CREATED.value, attempts=0, next_attempt_at=now,
                       channel=None, message_id=None, correlation_id=context.correlation_id.get(),
                       created_at=now, updated_at=now)
            if not row["recipient_account_id"]:
                new.update(channel=row["channel"], recipient_address=row["recipient_address"])
            repository.add_notification(uow.session, new, f"renvoi de {notification_id}" + (
                f" par {agent_id}" if agent_id else ""), now)
            uow.commit()
        self.ctx.wake()
        return {"id": new["id"], "resent_from": notification_id, "status": S.CREATED.value}
