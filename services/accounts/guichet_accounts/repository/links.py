"""One-time links (activation, password reset), stored as SHA-256 digests."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import one_time_tokens


class LinkRepository:
    def __init__(self, session):
        self.session = session

    def replace(self, *, token_hash: str, account_id: str, purpose: str, now, expires_at) -> None:
        """A new link for that purpose; the account's earlier unused ones stop working."""
        self.session.execute(one_time_tokens.update().where(one_time_tokens.c.account_id == account_id,
                                                            one_time_tokens.c.purpose == purpose,
                                                            one_time_tokens.c.used_at.is_(None)).values(used_at=now))
        self.session.execute(one_time_tokens.insert().values(token_hash=token_hash, purpose=purpose,
                                                             account_id=account_id, created_at=now,
                                                             expires_at=expires_at))

    def find(self, token_hash: str, purpose: str):
        return self.session.execute(sa.select(one_time_tokens).where(one_time_tokens.c.token_hash == token_hash,
                                                                     one_time_tokens.c.purpose == purpose)).first()

    def mark_used(self, token_hash: str, now) -> None:
        self.session.execute(one_time_tokens.update().where(one_time_tokens.c.token_hash == token_hash)
                             .values(used_at=now))

    def delete_spent(self, now) -> int:
        return self.session.execute(one_time_tokens.delete().where(sa.or_(
            one_time_tokens.c.expires_at < now, one_time_tokens.c.used_at.is_not(None)))).rowcount
