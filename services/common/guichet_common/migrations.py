"""Alembic migrations per service: each service package has a ``migrations`` folder."""
from __future__ import annotations

import logging
import os
from importlib.resources import files
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)


def alembic_config(package: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files(package) / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(package, url), revision)


# package -> (the stamp of its migration files, their script directory): a migration added or edited while
# the process runs (a test, a developer) is seen without a cache to clear.
_scripts: dict[str, tuple[tuple, ScriptDirectory]] = {}


def _stamp(package: str) -> tuple:
    versions = Path(str(files(package) / "migrations" / "versions"))
    try:
        return tuple(sorted((entry.name, entry.stat().st_mtime_ns, entry.stat().st_size) for entry in os.scandir(versions)
                            if entry.name.endswith(".py")))
    except FileNotFoundError:
        return ()


def _script(package: str) -> ScriptDirectory:
    stamp = _stamp(package)
    cached = _scripts.get(package)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    script = ScriptDirectory.from_config(alembic_config(package, "sqlite://"))
    _scripts[package] = (stamp, script)
    return script


def head_revision(package: str) -> str | None:
    return _script(package).get_current_head()


def is_known_revision(package: str, revision: str | None) -> bool:
    """False when the database was migrated by newer code (during a rolling upgrade)."""
    if revision is None:
        return True
    try:
        return _script(package).get_revision(revision) is not None
    except Exception:  # alembic raises for revisions it has never heard of
        return False


def current_revision(engine: sa.engine.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


_MIGRATION_LOCK_KEY = 0x6775696368657400  # "guichet\0": one advisory lock id for every service's migrations


def run_env(metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("the alembic configuration has no sqlalchemy.url (use guichet_common.migrations)")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Two replicas starting together both migrate: the lock makes the
            # second wait, then find the database already at head.
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            connection.commit()
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_messaging_tables_v1(op) -> None:
    """The outbox and inbox tables as every service's first migration creates them.

    Frozen: a later change to these tables is a new migration in each
    service, never an edit here.
    """
    from .db import BigIntegerKey, UtcDateTime

    op.create_table(
        "outbox",
        sa.Column("position", BigIntegerKey, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("exchange", sa.String(200), nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["position"],
                    postgresql_where=sa.text("published_at IS NULL"),
                    sqlite_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("handler", sa.String(200), nullable=False),
        sa.Column("processed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("message_id", "handler", name="pk_inbox"),
    )


def drop_messaging_tables_v1(op) -> None:
    op.drop_table("inbox")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
