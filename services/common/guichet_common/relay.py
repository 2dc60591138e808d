"""The outbox relay: publishes committed outbox rows with publisher confirms.

A row is marked published only after the broker confirmed it, in the same
transaction that selected it. A crash before the mark means the row is
published again on restart: consumers are idempotent (inbox), so nothing is
lost and nothing happens twice.

Several relays may run against one database. On PostgreSQL each takes rows
with ``FOR UPDATE SKIP LOCKED`` so they share the work; on SQLite (one write
lock per file) a file lock elects one active relay per database and the
others stand by.
"""
from __future__ import annotations

import fcntl
import json
import logging
import threading
import time
from typing import IO

import pika
import pika.exceptions
import sqlalchemy as sa

from guichet_contracts import envelope as envelopes

from . import amqp
from .db import Database, utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, database: Database, amqp_uri: str, *, batch_size: int = 500,
                 poll_interval: float = 0.2, name: str | None = None):
        self.database = database
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.name = name or f"{database.service}-relay"
        self.table = database.outbox
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None
        self._declared: set[str] = set()
        self.published_total = 0
        self._lease: IO[str] | None = None  # SQLite: the file lock that makes this the database's active relay
        database.on_outbox_written(self.wake.set)

    # -- AMQP ------------------------------------------------------------------
    def _ensure_channel(self):
        if self._channel is None or self._channel.is_closed or self._connection is None or self._connection.is_closed:
            self._close()
            self._connection = amqp.connect(self.amqp_uri, name=self.name)
            channel = self._connection.channel()
            channel.confirm_delivery()
            self._channel = channel
            self._declared = set()
        return self._channel

    def _close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if self.stopping.is_set() and self._lease is not None:
            self._lease.close()  # releases the SQLite lease for the next relay
            self._lease = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # already broken: nothing more to do
                pass

    def _publish(self, channel, row) -> None:
        if row.exchange not in self._declared:
            amqp.declare_exchange(channel, row.exchange)
            self._declared.add(row.exchange)
        message = json.loads(row.body)
        props = envelopes.amqp_properties(message)
        # Commands must reach their receiver's queue: unroutable means the
        # receiver has not declared it yet, so keep the row and try later.
        mandatory = row.exchange.endswith(".commands")
        channel.basic_publish(exchange=row.exchange, routing_key=row.routing_key, body=row.body.encode(),
                              properties=pika.BasicProperties(**props), mandatory=mandatory)

    # -- database --------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        if self.database.engine.dialect.name == "postgresql":
            return self._publish_batch_postgresql()
        return self._publish_batch_sqlite()

    def _publish_rows(self, channel, rows, mark_unroutable) -> list[int]:
        done = []
        for row in rows:
            try:
                self._publish(channel, row)
            except pika.exceptions.UnroutableError:
                log.warning("outbox message unroutable, kept for later",
                            extra={"fields": {"exchange": row.exchange, "routing_key": row.routing_key}})
                mark_unroutable(row.position)
                continue
            done.append(row.position)
        self.published_total += len(done)
        return done

    def _unpublished(self):
        t = self.table
        return (sa.select(t.c.position, t.c.exchange, t.c.routing_key, t.c.body)
                .where(t.c.published_at.is_(None)).order_by(t.c.position).limit(self.batch_size))

    def _publish_batch_postgresql(self) -> int:
        # Row locks held while publishing block no other writer; SKIP LOCKED
        # lets several relays share the outbox without publishing a row twice.
        channel = self._ensure_channel()
        t = self.table
        with self.database.engine.begin() as connection:
            rows = connection.execute(self._unpublished().with_for_update(skip_locked=True)).all()
            done = self._publish_rows(channel, rows, lambda position: connection.execute(
                t.update().where(t.c.position == position).values(last_error="unroutable: no queue bound yet")))
            if done:
                connection.execute(t.update().where(t.c.position.in_(done)).values(published_at=utcnow()))
        return len(done)

    def _publish_batch_sqlite(self) -> int:
        # SQLite has one write lock for the whole file. Holding it while waiting
        # for confirms would stall every writer (and, under eventlet, the busy
        # handler blocks the hub, so the relay could never finish). One relay
        # per database file is elected with a file lock instead; it reads,
        # publishes, then marks rows in short transactions of its own.
        if not self._hold_sqlite_lease():
            return 0
        channel = self._ensure_channel()
        t = self.table
        engine = self.database.engine
        with engine.connect() as connection:
            rows = connection.execute(self._unpublished()).all()
        if not rows:
            return 0

        def mark_unroutable(position):
            with engine.begin() as connection:
                connection.execute(t.update().where(t.c.position == position)
                                   .values(last_error="unroutable: no queue bound yet"))

        done = self._publish_rows(channel, rows, mark_unroutable)
        if done:
            with engine.begin() as connection:
                connection.execute(t.update().where(t.c.position.in_(done)).values(published_at=utcnow()))
        return len(done)

    def _hold_sqlite_lease(self) -> bool:
        if self._lease is not None:
            return True
        path = self.database.engine.url.database
        if not path or path == ":memory:":
            return True
        lease = open(f"{path}.relay-lease", "a+")
        try:
            fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lease.close()  # another relay publishes this outbox; stand by
            return False
        self._lease = lease
        return True

    # -- loop ------------------------------------------------------------------
    def run(self) -> None:
        log.info("outbox relay started", extra={"fields": {"service": self.database.service}})
        backoff = 0.5
        failing_since: float | None = None  # one warning when the broker or database goes, one when it is back
        while not self.stopping.is_set():
            try:
                published = self.publish_batch()
                if failing_since is not None:
                    log.warning("outbox relay publishing again", extra={"fields": {
                        "service": self.database.service, "down_seconds": round(time.monotonic() - failing_since, 1)}})
                    failing_since = None
                backoff = 0.5
                if published < self.batch_size:
                    self.wake.wait(self.poll_interval if not published else 0)
                    self.wake.clear()
            except (pika.exceptions.AMQPError, OSError, sa.exc.DBAPIError, sa.exc.OperationalError) as error:
                # Rows not confirmed stay unpublished and go again after the reconnection (consumers dedupe).
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("outbox relay cannot publish, retrying with backoff", extra={"fields": {
                        "service": self.database.service, "error": type(error).__name__}})
                self._close()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5)
        self._close()
        log.info("outbox relay stopped")

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def drain(self, timeout: float = 10.0) -> None:
        """Publish everything pending now (used by commands and tests)."""
        deadline = time.monotonic() + timeout
        while self.publish_batch():
            if time.monotonic() > deadline:
                raise TimeoutError("outbox not drained in time")
