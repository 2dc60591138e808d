"""One database per service: engines, the messaging tables, the unit of work.

Every service declares its tables on its own ``MetaData`` and calls
``messaging_tables(metadata)`` so that the outbox (events and commands waiting
to be published) and the inbox (ids of messages already handled) live in the
same database as its domain state and commit in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from guichet_contracts import envelope as envelopes
from guichet_contracts import registry

from . import context, metrics

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
BigIntegerKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use UTC-aware datetimes")
            value = value.astimezone(dt.timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


def new_metadata() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


def messaging_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Declare the ``outbox`` and ``inbox`` tables on a service's metadata."""
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("position", BigIntegerKey, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("exchange", sa.String(200), nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Index("ix_outbox_unpublished", "position",
                 postgresql_where=sa.text("published_at IS NULL"),
                 sqlite_where=sa.text("published_at IS NULL")),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("handler", sa.String(200), primary_key=True),
        sa.Column("processed_at", UtcDateTime, nullable=False),
    )
    return outbox, inbox


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the relay read while the service writes; busy_timeout
            # turns lock contention into waiting instead of errors.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                            pool_recycle=1800)


class Inbox:
    def __init__(self, session: Session, table: sa.Table, service: str = ""):
        self.session = session
        self.table = table
        self.service = service

    def claim(self, message_id: str, handler: str) -> bool:
        """Record that ``handler`` processes ``message_id``; False if it already did.

        The row commits with the handler's effects. Two concurrent deliveries
        of one message: the second commit breaks the primary key, its
        transaction rolls back, and the redelivery then finds the row.
        """
        seen = self.session.execute(
            sa.select(self.table.c.message_id).where(
                self.table.c.message_id == message_id, self.table.c.handler == handler)
        ).first()
        if seen:
            metrics.DUPLICATES.labels(self.service, handler).inc()
            log.info("duplicate message skipped", extra={"fields": {"handler": handler, "message_id": message_id}})
            return False
        self.session.execute(self.table.insert().values(message_id=message_id, handler=handler,
                                                        processed_at=utcnow()))
        return True


class UnitOfWork:
    """A database transaction plus the messages it will emit.

    Use as a context manager; nothing is kept unless ``commit()`` is called.
    Events and commands recorded here are written to the outbox in the same
    transaction, so a state change and its messages are kept or lost together.
    """

    def __init__(self, service: str, session_factory: Callable[[], Session], outbox: sa.Table,
                 inbox: sa.Table, on_commit: Callable[[], None] | None = None):
        self.service = service
        self._session_factory = session_factory
        self._outbox = outbox
        self._inbox_table = inbox
        self._on_commit = on_commit
        self._pending: list[dict[str, Any]] = []
        self._session: Session | None = None
        self._inbox: Inbox | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("a unit of work's session exists inside its with block only")
        return self._session

    @property
    def inbox(self) -> Inbox:
        if self._inbox is None:
            raise RuntimeError("a unit of work's inbox exists inside its with block only")
        return self._inbox

    def __enter__(self) -> "UnitOfWork":
        self._session = self._session_factory()
        self._inbox = Inbox(self._session, self._inbox_table, self.service)
        self._pending = []
        return self

    def __exit__(self, *exc_info):
        session, self._session, self._inbox = self.session, None, None
        try:
            session.rollback()
        finally:
            session.close()

    def publish_event(self, event_type: str, data: dict, *, subject: str | None = None) -> str:
        contract = registry.get(event_type)
        if contract.kind != "event" or contract.producer != self.service:
            raise ValueError(f"{self.service} may not publish {event_type}")
        return self._record(contract, data, subject)

    def send_command(self, command_type: str, data: dict, *, subject: str | None = None) -> str:
        contract = registry.get(command_type)
        if contract.kind != "command" or self.service not in contract.senders:
            raise ValueError(f"{self.service} may not send {command_type}")
        return self._record(contract, data, subject)

    def _record(self, contract, data, subject) -> str:
        payload = contract.dump(data)  # raises on a payload the schema rejects
        message = envelopes.make_envelope(
            type=contract.type, source=self.service, data=payload, subject=subject,
            correlation_id=context.correlation_id.get() or context.new_id(),
            causation_id=context.causation_id.get(),
        )
        self._pending.append({
            "message_id": message["id"],
            "exchange": contract.exchange,
            "routing_key": contract.routing_key,
            "body": json.dumps(message, ensure_ascii=False, separators=(",", ":")),
            "created_at": utcnow(),
            "attempts": 0,
        })
        return message["id"]

    def commit(self) -> None:
        if self._pending:
            self.session.execute(self._outbox.insert(), self._pending)
        self.session.commit()
        had_messages = bool(self._pending)
        self._pending = []
        if had_messages and self._on_commit:
            self._on_commit()

    def rollback(self) -> None:
        self._pending = []
        self.session.rollback()


class Database:
    """Engine, sessions and units of work of one service."""

    def __init__(self, service: str, url: str, metadata: sa.MetaData, *, pool_size: int = 10):
        self.service = service
        self.url = url
        self.metadata = metadata
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.outbox = metadata.tables["outbox"]
        self.inbox = metadata.tables["inbox"]
        self._listeners: list[Callable[[], None]] = []

    def on_outbox_written(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.service, self.sessions, self.outbox, self.inbox, self._notify)

    def outbox_backlog(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(self.outbox).where(self.outbox.c.published_at.is_(None))
            ).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
