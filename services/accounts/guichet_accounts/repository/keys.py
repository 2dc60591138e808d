"""The token signing keys (PKCS#8 PEM, encrypted when the operator sets a passphrase)."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import signing_keys


class SigningKeyRepository:
    def __init__(self, connection):
        self.connection = connection  # a session or a plain connection: reads need no unit of work

    def live(self) -> list:
        """The keys not retired, newest first."""
        return self.connection.execute(sa.select(signing_keys).where(signing_keys.c.retired_at.is_(None))
                                       .order_by(signing_keys.c.created_at.desc())).all()

    def add(self, *, kid: str, pem: str, encrypted: bool, now) -> None:
        """The new signing key; the current one becomes a previous key (it keeps verifying)."""
        self.connection.execute(signing_keys.update().where(signing_keys.c.superseded_at.is_(None),
                                                            signing_keys.c.retired_at.is_(None))
                                .values(superseded_at=now))
        self.connection.execute(signing_keys.insert().values(kid=kid, private_key_pem=pem, encrypted=encrypted,
                                                             created_at=now))

    def retire_superseded(self, *, before, now) -> int:
        return self.connection.execute(signing_keys.update().where(
            signing_keys.c.superseded_at.is_not(None), signing_keys.c.superseded_at <= before,
            signing_keys.c.retired_at.is_(None)).values(retired_at=now)).rowcount
