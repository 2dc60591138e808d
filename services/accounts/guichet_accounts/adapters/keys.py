"""The signing key ring, stored in the service's database and kept in memory once loaded.

The first call on an empty database creates a key. Each application object
keeps its own copy of the ring (one per service container): signing needs no
query, and ``public_keys`` reloads so the published set follows rotations made
by the ``guichet-accounts`` command in another process.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from guichet_common.db import Database

from ..domain.tokens import KeyRing, SigningKey
from ..repository.keys import SigningKeyRepository


class KeyStore:
    def __init__(self, database: Database, *, passphrase: bytes | None, clock: Callable[[], dt.datetime]):
        self.db = database
        self.passphrase = passphrase
        self.clock = clock
        self._ring: KeyRing | None = None
        self._lock = threading.Lock()

    def ring(self, *, reload: bool = False) -> KeyRing:
        if not reload and self._ring is not None:
            return self._ring
        with self._lock:
            ring = self._load()
            if ring is None:
                self.rotate()
                ring = self._load()
            self._ring = ring
            return ring

    def _load(self) -> KeyRing | None:
        with self.db.engine.connect() as connection:
            rows = SigningKeyRepository(connection).live()
        keys = [SigningKey.from_pem(row.private_key_pem.encode(), created_at=row.created_at,
                                    superseded_at=row.superseded_at,
                                    password=self.passphrase if row.encrypted else None) for row in rows]
        current = [k for k in keys if k.superseded_at is None]
        if not current:
            return None
        return KeyRing(current[0], tuple(k for k in keys if k is not current[0]))

    def rotate(self) -> str:
        """A new signing key; the previous ones keep verifying until retired."""
        now = self.clock()
        key = SigningKey.generate(now)
        with self.db.unit_of_work() as uow:
            SigningKeyRepository(uow.session).add(kid=key.kid, pem=key.to_pem(self.passphrase).decode(),
                                                  encrypted=bool(self.passphrase), now=now)
            uow.commit()
        self._ring = None
        return key.kid

    def retire(self, grace: dt.timedelta) -> int:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            count = SigningKeyRepository(uow.session).retire_superseded(before=now - grace, now=now)
            uow.commit()
        self._ring = None
        return count
