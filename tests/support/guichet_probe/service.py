"""Two test-only services: ``probe`` writes notes and publishes events through its outbox;
``probelistener`` consumes them idempotently and fails on demand (poison, flaky)."""
from __future__ import annotations

import eventlet
import sqlalchemy as sa

from guichet_common import context
from guichet_common.db import UtcDateTime, messaging_tables, new_metadata, utcnow
from guichet_common.errors import InvalidInput
from guichet_common.messaging import ApplicationProvider, DatabaseProvider, event_handler, rpc
from guichet_common.service import GuichetService

from .contracts import NOTE_CREATED

probe_metadata = new_metadata()
messaging_tables(probe_metadata)
notes = sa.Table("notes", probe_metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("text", sa.String(200), nullable=False),
                 sa.Column("created_at", UtcDateTime, nullable=False))

listener_metadata = new_metadata()
messaging_tables(listener_metadata)
received = sa.Table("received", listener_metadata,
                    sa.Column("message_id", sa.String(64), primary_key=True),
                    sa.Column("note_id", sa.Integer, nullable=False),
                    sa.Column("text", sa.String(200), nullable=False))
antidotes = sa.Table("antidotes", listener_metadata, sa.Column("text", sa.String(200), primary_key=True))


class ProbeService(GuichetService):
    name = "probe"
    has_migrations = False
    db = DatabaseProvider(probe_metadata)

    @rpc
    def create_note(self, text):
        with self.db.unit_of_work() as uow:
            note_id = uow.session.execute(notes.insert().values(text=text, created_at=utcnow())).inserted_primary_key[0]
            uow.publish_event(NOTE_CREATED.type, {"note_id": note_id, "text": text}, subject=f"note/{note_id}")
            uow.commit()
        return note_id

    @rpc
    def slow_query(self, seconds):
        with self.db.engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_sleep(:s)"), {"s": seconds})
        return seconds

    @rpc
    def sleep(self, seconds):
        eventlet.sleep(seconds)
        return seconds

    @rpc
    def refuse(self):
        raise InvalidInput(errors={"nom": ["Champ obligatoire."]})

    @rpc
    def fail(self):
        raise RuntimeError("leaky detail jean.dupont@example.org")

    @rpc
    def whoami(self):
        return {"correlation_id": context.correlation_id.get(), "kind": self.caller.kind,
                "subject": self.caller.subject, "roles": list(self.caller.roles)}


class ProbeListenerService(GuichetService):
    name = "probelistener"
    has_migrations = False
    db = DatabaseProvider(listener_metadata)

    @event_handler("probe", NOTE_CREATED.type)
    def on_note_created(self, event):
        data = event["data"]
        with self.db.unit_of_work() as uow:
            if not uow.inbox.claim(event["id"], "probelistener.on_note_created"):
                return
            if data["text"].startswith("poison"):
                cured = uow.session.execute(sa.select(antidotes.c.text).where(antidotes.c.text == data["text"])).first()
                if not cured:
                    raise RuntimeError("cannot digest this note")
            uow.session.execute(received.insert().values(message_id=event["id"], note_id=data["note_id"],
                                                         text=data["text"]))
            uow.commit()

    @rpc
    def received_notes(self):
        with self.db.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.select(received))]


def _build_probe_application(database):
    from .application import build  # the application module imports this one's tables

    return build(database)


class ProbeAppService(GuichetService):
    """A service whose workers share one application object built by ``ApplicationProvider``."""

    name = "probeapp"
    has_migrations = False
    db = DatabaseProvider(probe_metadata)
    app = ApplicationProvider(_build_probe_application)

    @rpc
    def describe(self):
        return self.app.describe()
