"""What every Guichet service has: the chassis dependencies and the ``health`` RPC."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import migrations
from .db import Database
from .messaging import Chassis, rpc


def health_report(service: str, package: str | None, database: Database) -> dict:
    state: dict[str, Any] = {"reachable": False}
    report: dict[str, Any] = {"service": service, "status": "ok", "database": state, "outbox_backlog": None}
    try:
        with database.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        state["reachable"] = True
        current = migrations.current_revision(database.engine)
        head = migrations.head_revision(package) if package else current
        state.update(revision=current, head=head, up_to_date=current == head)
        report["outbox_backlog"] = database.outbox_backlog()
        if current != head:
            # Older schema: this code cannot run on it. Newer schema (a rolling
            # upgrade migrated it for the next version): migrations are additive, keep serving.
            newer = package is not None and not migrations.is_known_revision(package, current)
            state["newer_than_code"] = newer
            if not newer:
                report["status"] = "degraded"
    except sa.exc.SQLAlchemyError as error:
        report["status"] = "down"
        state["error"] = type(error).__name__
    return report


class GuichetService:
    """Base of every service class. Subclasses set ``name`` and ``db = DatabaseProvider(metadata)``."""

    name: str
    caller = Chassis()
    # What a worker sees: nameko gives each worker the Database of the class's ``db = DatabaseProvider(...)``.
    db: Database

    # Test-only services create their tables directly and have no migrations.
    has_migrations = True

    @classmethod
    def package(cls) -> str:
        return cls.__module__.split(".")[0]

    @rpc
    def health(self):
        return health_report(self.name, self.package() if self.has_migrations else None, self.db)
