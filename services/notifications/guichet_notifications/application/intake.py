"""Commands received: a recipient's contact details, and a notification to send.

Each in one unit of work with its inbox claim, so a command is acknowledged only once its effect (a
notification row, even a failed one) is durably recorded, and a redelivered command does nothing. Bad input
(unknown template, missing personalisation, invalid address or number, no channel) never raises out of a
handler: it becomes a notification in ``permanent-failure`` with a stable ``failure_code`` and a French reason.
"""
from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from guichet_common import context

from .. import repository
from ..domain.delivery import ContactUnknown, DeliveryFailure, PermanentFailure, as_failure
from ..domain.delivery import NotificationStatus as S
from ..domain.templates import UnknownTemplate
from .context import Context, log, publish_outcome
from .preparation import prepare

CONTACT_FIELDS = ("email", "phone_mobile", "phone_personal", "preference", "display_name")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def fail(row: dict, failure: DeliveryFailure) -> None:
    row.update(status=failure.status.value, failure_code=failure.code[:50],
               failure_reason=(failure.detail or failure.code)[:500], next_attempt_at=None)


class Intake:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def update_contact(self, message_id: str, data: dict) -> bool:
        """Accounts' copy of a recipient's contact details; False for a duplicate command."""
        with self.ctx.database.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "notifications.contact_updated"):
                return False
            values = {key: data.get(key) for key in CONTACT_FIELDS}
            repository.save_contact(uow.session, data["account_id"], {**values, "updated_at": self.ctx.clock()})
            uow.commit()
        self.ctx.wake()  # notifications waiting for this contact may go now
        return True

    def _new_row(self, message_id: str, data: dict, source: str | None, now) -> dict:
        recipient = data.get("recipient") or {}
        return {
            "id": str(uuid.uuid4()), "template": data["template"], "channel": data.get("channel"),
            "recipient_account_id": recipient.get("account_id"),
            "recipient_address": None,
            "personalisation": _json({"personalisation": data.get("personalisation") or {},
                                      "recipient": {k: recipient.get(k) for k in ("email", "phone")},
                                      "forced_channel": data.get("channel"),
                                      "security": bool(data.get("security")),
                                      "attachments": data.get("attachments") or []}),
            "essential": True, "status": S.CREATED.value, "attempts": 0, "next_attempt_at": now,
            "reference": data.get("reference"), "source": (source or "")[:50] or None,
            "message_id": message_id[:64], "correlation_id": (context.correlation_id.get() or "")[:200] or None,
            "created_at": now, "updated_at": now,
        }

    def _fail(self, row: dict, failure: DeliveryFailure) -> None:
        fail(row, failure)
        try:  # the record says what kind of message it was, even when it could not be prepared
            row["essential"] = self.ctx.catalog.get_template(row["template"]).essential
        except UnknownTemplate:
            pass

    def _prepare(self, session, row: dict) -> str:
        """Prepare ``row`` in place (or record its failure); the detail of its first history line."""
        try:
            if len(row["recipient_account_id"] or "") > 64:
                row["recipient_account_id"] = None
                raise PermanentFailure("invalid_recipient", "identifiant de compte invalide (64 caractères au plus)")
            row.update(prepare(self.ctx, session, row).values())
        except ContactUnknown as waiting:
            return waiting.detail  # kept as created: sent once accounts' contact command arrives
        except DeliveryFailure as failure:
            self._fail(row, failure)
        except sa.exc.SQLAlchemyError:
            raise  # the database: the command is retried by the chassis
        except Exception as error:  # a bug of ours: recorded, an agent may resend
            log.exception("notification could not be prepared", extra={"fields": {"notification_id": row["id"]}})
            self._fail(row, as_failure(error))
        return row.get("failure_reason") or "demande reçue"

    def request(self, message_id: str, data: dict, *, source: str | None = None) -> str | None:
        """Record the notification a command asks for (or its failure). None for a duplicate."""
        now = self.ctx.clock()
        with self.ctx.database.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "notifications.notification_requested"):
                return None
            row = self._new_row(message_id, data, source, now)
            detail = self._prepare(uow.session, row)
            repository.add_notification(uow.session, row, detail, now)
            if row["status"] != S.CREATED.value:
                publish_outcome(uow, row)
            uow.commit()
        if row["status"] == S.CREATED.value:
            self.ctx.wake()
        return row["id"]
