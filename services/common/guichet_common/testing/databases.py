"""A fresh database per service and test, on the backend GUICHET_TEST_DATABASE names (sqlite, the default,
or postgresql)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get("GUICHET_TEST_POSTGRESQL_URL",
                                    "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql")


def backend() -> str:
    return os.environ.get("GUICHET_TEST_DATABASE", "sqlite")

class DatabaseFactory:
    def __init__(self, directory: Path):
        self.directory = directory
        self.created: list[str] = []

    def new(self, service: str) -> str:
        if backend() == "postgresql":
            name = f"gt_{uuid.uuid4().hex[:12]}_{service}"
            engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            self.created.append(name)
            return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.directory / (service + '-' + uuid.uuid4().hex[:6] + '.sqlite3')}"

    def drop_all(self):
        if not self.created:
            return
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for name in self.created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def databases(tmp_path):
    factory = DatabaseFactory(tmp_path)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="module")
def module_databases(tmp_path_factory):
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()
