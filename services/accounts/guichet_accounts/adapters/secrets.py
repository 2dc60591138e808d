"""The service's own secrets: made at random on first use, kept in its database (every replica reads the same
one), cached in memory once read. Two replicas racing on a fresh database both keep the one stored first."""
from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable

import sqlalchemy as sa

from guichet_common.db import Database

from ..repository.secrets import SecretRepository

SECRET_BYTES = 32


class ServiceSecrets:
    def __init__(self, database: Database, *, clock: Callable[[], dt.datetime]):
        self.db = database
        self.clock = clock
        self._known: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes:
        if name not in self._known:
            with self._lock:
                self._known[name] = bytes.fromhex(self._stored(name) or self._create(name))
        return self._known[name]

    def _stored(self, name: str) -> str | None:
        with self.db.engine.connect() as connection:
            return SecretRepository(connection).get(name)

    def _create(self, name: str) -> str:
        try:
            with self.db.unit_of_work() as uow:
                SecretRepository(uow.session).add(name, secrets.token_hex(SECRET_BYTES), now=self.clock())
                uow.commit()
        except sa.exc.IntegrityError:
            pass  # another replica stored it first: its value is the one
        value = self._stored(name)
        if value is None:
            raise RuntimeError(f"the service secret {name!r} could not be stored")
        return value
