"""Guarded status changes: an allowed-transitions table, and the change itself in the caller's unit of work.

A status (a notification's delivery, a démarche request, a payment, a booking)
moves only along its table, and a change is a conditional update: ``UPDATE ...
SET status = new WHERE id = ? AND status = <the status read>``. Two concurrent
changes of one row (two copies of a provider's report, an agent and a timeout)
both read the same status; the first to update wins, the second updates no row
and is told so (it must not record its history line or event). The history
line and the outcome event are written in the same transaction as the change::

    DELIVERY = Transitions({"created": {"sending", "sent"}, "sending": {"delivered"}, ...})   # in domain/
    STATUS = StatusMachine(notifications, DELIVERY, history=notification_events,
                           history_key="notification_id")                                   # in the repository

    with db.unit_of_work() as uow:
        applied = STATUS.change(uow, row["id"], current=row["status"], new="delivered",
                                changes={"updated_at": now}, detail="compte rendu", at=now,
                                outcome=Outcome(DELIVERED, {...}, subject=f"notification/{row['id']}"))
        uow.commit()

:class:`Transitions` is pure (a domain module may hold its table); statuses
may be strings or ``str`` enums.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, cast

from .db import utcnow

if TYPE_CHECKING:
    import datetime as dt

    import sqlalchemy as sa
    from sqlalchemy.engine import CursorResult

    from .db import UnitOfWork


class IllegalTransition(ValueError):
    """A status change the table does not allow: a programming error or a rule the caller must check first."""


def _value(status: Any) -> Any:
    return status.value if isinstance(status, enum.Enum) else status


class Transitions:
    """From each status, the statuses it may move to (a status missing from the table moves nowhere)."""

    def __init__(self, allowed: Mapping[Any, Iterable[Any]], *, name: str = "status"):
        self.name = name
        self.allowed: dict[Any, frozenset] = {_value(current): frozenset(_value(s) for s in targets)
                                              for current, targets in allowed.items()}

    def can(self, current: Any, new: Any) -> bool:
        return _value(new) in self.allowed.get(_value(current), frozenset())

    def check(self, current: Any, new: Any) -> None:
        """:class:`IllegalTransition` unless ``current`` may move to ``new``."""
        if not self.can(current, new):
            raise IllegalTransition(f"{self.name} {_value(current)} -> {_value(new)} is not an allowed change")

    def targets(self, current: Any) -> frozenset:
        return self.allowed.get(_value(current), frozenset())


@dataclass(frozen=True)
class Outcome:
    """The event a change publishes through the unit of work's outbox."""

    type: str
    data: dict
    subject: str | None = None


@dataclass(frozen=True)
class StatusMachine:
    """Status changes of the rows of ``table``, each with a line in ``history`` (if given).

    ``history`` has the columns ``history_key`` (the row's id), ``status``, ``detail``
    (cut to its length) and ``at``; more values come with ``history_values``.
    """

    table: sa.Table
    transitions: Transitions
    history: sa.Table | None = None
    history_key: str | None = None
    id_column: str = "id"
    status_column: str = "status"
    detail_length: int | None = field(default=None, init=False)

    def __post_init__(self):
        if self.history is not None:
            if self.history_key is None:
                raise ValueError("a history table needs history_key, its column holding the row's id")
            length = getattr(self.history.c.detail.type, "length", None)
            object.__setattr__(self, "detail_length", length)

    def change(self, uow: UnitOfWork, row_id: Any, *, current: Any, new: Any, changes: Mapping[str, Any] | None = None,
               detail: str | None = None, at: dt.datetime | None = None, outcome: Outcome | None = None,
               history_values: Mapping[str, Any] | None = None) -> bool:
        """Move the row from ``current`` (the status it was read with) to ``new``, with ``changes``.

        True if applied (history line and ``outcome`` recorded in ``uow``); False if the row no
        longer has ``current`` (a concurrent change won) or does not exist. Raises
        :class:`IllegalTransition` if the table does not allow the change. The caller commits.
        """
        self.transitions.check(current, new)
        session = uow.session
        table = self.table
        values = {**(changes or {}), self.status_column: _value(new)}
        result = cast("CursorResult[Any]", session.execute(
            table.update().where(table.c[self.id_column] == row_id,
                                 table.c[self.status_column] == _value(current)).values(**values)))
        if result.rowcount != 1:
            return False
        if self.history is not None and self.history_key is not None:
            line: dict[str, Any] = {self.history_key: row_id, "status": _value(new), "at": at or utcnow(),
                    "detail": (detail or None) and detail[:self.detail_length], **(history_values or {})}
            session.execute(self.history.insert().values(**line))
        if outcome is not None:
            uow.publish_event(outcome.type, outcome.data, subject=outcome.subject)
        return True
