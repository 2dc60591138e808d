"""The notifications service's queries (SQLAlchemy Core), per table; the application layer calls these inside
its units of work and never writes SQL itself."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from guichet_common.pagination import Page, paginate
from guichet_common.transitions import StatusMachine

from .domain.delivery import DELIVERY
from .domain.delivery import NotificationStatus as S
from .models import contacts, notification_events, notifications, recipient_preferences, templates

STATUS = StatusMachine(notifications, DELIVERY, history=notification_events, history_key="notification_id")
"""Every status change of a notification: conditional update, history line and outcome event together."""

NEWEST_FIRST = [notifications.c.created_at.desc(), notifications.c.id]
WAITING = (S.CREATED.value, S.TEMPORARY_FAILURE.value)
"""The statuses of a notification that is still to be attempted."""


# --- contacts -------------------------------------------------------------------------------

def contact(session, account_id: str) -> Mapping[str, Any] | None:
    return session.execute(sa.select(contacts).where(contacts.c.account_id == account_id)).mappings().first()


def save_contact(session, account_id: str, values: Mapping[str, Any]) -> None:
    updated = session.execute(contacts.update().where(contacts.c.account_id == account_id).values(**values))
    if not updated.rowcount:
        session.execute(contacts.insert().values(account_id=account_id, **values))


# --- templates ------------------------------------------------------------------------------

def latest_template_versions(session) -> dict[str, Any]:
    """The newest recorded version of each template (``name``, ``version``, ``checksum``), by name."""
    rows = session.execute(sa.select(templates.c.name, templates.c.version, templates.c.checksum)
                           .order_by(templates.c.name, templates.c.version)).all()
    return {row.name: row for row in rows}


def add_template_version(session, **values) -> None:
    session.execute(templates.insert().values(**values))


# --- notifications --------------------------------------------------------------------------

def add_history(session, notification_id: str, status: str, detail: str | None, at: dt.datetime) -> None:
    session.execute(notification_events.insert().values(notification_id=notification_id, status=status,
                                                        detail=(detail or None) and detail[:500], at=at))


def add_notification(session, row: Mapping[str, Any], detail: str | None, at: dt.datetime) -> None:
    """A new notification with the first line of its history."""
    session.execute(notifications.insert().values(**row))
    add_history(session, row["id"], row["status"], detail, at)


def notification(connection, notification_id: str) -> Mapping[str, Any] | None:
    return connection.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                              ).mappings().first()


def history(connection, notification_id: str) -> list[Mapping[str, Any]]:
    return list(connection.execute(sa.select(notification_events)
                                   .where(notification_events.c.notification_id == notification_id)
                                   .order_by(notification_events.c.id)).mappings())


def lease_due(session, now: dt.datetime, until: dt.datetime, limit: int, token: str, *,
              skip_locked: bool) -> list[str]:
    """Ids of due notifications now leased to ``token`` until ``until``, oldest due first.

    The update takes only rows still due, so two processes picking the same rows (SQLite has no ``SKIP
    LOCKED``; PostgreSQL skips the rows another transaction holds) never both lease one."""
    query = (sa.select(notifications.c.id)
             .where(notifications.c.status.in_(WAITING), notifications.c.next_attempt_at <= now)
             .order_by(notifications.c.next_attempt_at).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    session.execute(notifications.update()
                    .where(notifications.c.id.in_(ids), notifications.c.status.in_(WAITING),
                           notifications.c.next_attempt_at <= now)
                    .values(next_attempt_at=until, lease_token=token))
    leased = set(session.execute(sa.select(notifications.c.id).where(notifications.c.id.in_(ids),
                                                                     notifications.c.lease_token == token))
                 .scalars())
    return [notification_id for notification_id in ids if notification_id in leased]


def renew_leases(session, ids: Iterable[str], token: str, until: dt.datetime) -> int:
    """Extend the lease of those of ``ids`` still waiting under ``token`` (an attempt's outcome clears the
    token: a recorded retry time is never moved); how many were renewed."""
    result = session.execute(notifications.update()
                             .where(notifications.c.id.in_(list(ids)), notifications.c.lease_token == token,
                                    notifications.c.status.in_(WAITING))
                             .values(next_attempt_at=until))
    return result.rowcount or 0


def reported_sms(session, provider: str, references: Iterable[str]) -> Mapping[str, Any] | None:
    """The newest SMS ``provider`` accepted under one of ``references`` (its message ids)."""
    return session.execute(
        sa.select(notifications).where(notifications.c.provider == provider,
                                       notifications.c.provider_reference.in_(list(references)),
                                       notifications.c.channel == "sms")
        .order_by(notifications.c.created_at.desc()).limit(1)).mappings().first()


def unconfirmed_sms(session, sent_before: dt.datetime, limit: int) -> list[Mapping[str, Any]]:
    return list(session.execute(
        sa.select(notifications).where(notifications.c.status == S.SENDING.value,
                                       notifications.c.sent_at < sent_before)
        .order_by(notifications.c.sent_at).limit(limit)).mappings())


def purge_content(session, created_before: dt.datetime, now: dt.datetime) -> int:
    """Empty the personalisation and rendered content of finished notifications created before the cutoff."""
    result = session.execute(
        notifications.update()
        .where(notifications.c.created_at < created_before, notifications.c.purged_at.is_(None),
               notifications.c.next_attempt_at.is_(None))
        .values(personalisation=None, subject=None, body=None, body_html=None, purged_at=now))
    return result.rowcount or 0


def page_for_account(connection, account_id: str, cursor: str | None, limit: int) -> Page:
    return paginate(connection, sa.select(notifications).where(notifications.c.recipient_account_id == account_id),
                    order_by=NEWEST_FIRST, cursor=cursor, limit=limit)


def search(connection, *, status: str | None, recipient: str | None, template: str | None, failed: bool,
           cursor: str | None, limit: int) -> Page:
    where = []
    if status:
        where.append(notifications.c.status == status)
    if failed:  # given up: permanent and technical failures, temporary ones out of retries
        where.append(sa.or_(
            notifications.c.status.in_([S.PERMANENT_FAILURE.value, S.TECHNICAL_FAILURE.value]),
            sa.and_(notifications.c.status == S.TEMPORARY_FAILURE.value, notifications.c.next_attempt_at.is_(None))))
    if template:
        where.append(notifications.c.template == template)
    if recipient:
        where.append(sa.or_(notifications.c.recipient_account_id == recipient,
                            sa.func.lower(notifications.c.recipient_address) == recipient.strip().lower()))
    return paginate(connection, sa.select(notifications).where(*where), order_by=NEWEST_FIRST, cursor=cursor,
                    limit=limit)


# --- recipients' preferences ----------------------------------------------------------------

def preference(connection, key: str | None) -> Mapping[str, Any] | None:
    if key is None:
        return None
    return connection.execute(sa.select(recipient_preferences).where(recipient_preferences.c.recipient == key)
                              ).mappings().first()


def receives_non_essential(session, key: str | None) -> bool:
    row = preference(session, key)
    return True if row is None else bool(row["non_essential"])


def save_preference(session, key: str, non_essential: bool, source: str, now: dt.datetime) -> None:
    values = {"non_essential": non_essential, "source": source, "updated_at": now}
    changed = session.execute(recipient_preferences.update()
                              .where(recipient_preferences.c.recipient == key).values(**values)).rowcount
    if not changed:
        session.execute(recipient_preferences.insert().values(recipient=key, **values))
