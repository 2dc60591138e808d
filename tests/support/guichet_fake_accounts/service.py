"""``accounts`` as the gateway sees it for token checks: a ``public_keys`` RPC returning the JWKS of a
key the test generated (its PEM file is named by GUICHET_TEST_ACCOUNTS_KEY_FILE)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from guichet_accounts.domain.tokens import KeyRing, SigningKey, public_jwks
from guichet_common.db import messaging_tables, new_metadata
from guichet_common.messaging import DatabaseProvider, rpc
from guichet_common.service import GuichetService

metadata = new_metadata()
messaging_tables(metadata)


def load_keyring() -> KeyRing:
    pem = Path(os.environ["GUICHET_TEST_ACCOUNTS_KEY_FILE"]).read_bytes()
    return KeyRing(SigningKey.from_pem(pem, created_at=dt.datetime.now(dt.timezone.utc)))


class FakeAccountsService(GuichetService):
    name = "accounts"
    has_migrations = False
    db = DatabaseProvider(metadata)

    @rpc
    def public_keys(self):
        return public_jwks(load_keyring())
