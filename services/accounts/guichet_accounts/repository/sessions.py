"""Login sessions: refresh-token families and the index of every hash that leads to one."""
from __future__ import annotations

import sqlalchemy as sa

from ..domain.tokens import RefreshTokenFamily
from ..models import refresh_families, refresh_token_hashes


def _family(row) -> RefreshTokenFamily:
    return RefreshTokenFamily(family_id=row.family_id, subject=row.subject, kind=row.kind,
                              current_hash=row.current_hash, created_at=row.created_at,
                              current_issued_at=row.current_issued_at, expires_at=row.expires_at,
                              used_hashes=list(row.used_hashes or []), revoked_at=row.revoked_at,
                              revoked_reason=row.revoked_reason)


class SessionRepository:
    def __init__(self, session):
        self.session = session

    def add(self, family: RefreshTokenFamily) -> None:
        self.session.execute(refresh_families.insert().values(
            family_id=family.family_id, subject=family.subject, kind=family.kind, current_hash=family.current_hash,
            used_hashes=[], created_at=family.created_at, current_issued_at=family.current_issued_at,
            expires_at=family.expires_at))
        self.index(family)

    def index(self, family: RefreshTokenFamily) -> None:
        """Make the family's current token findable."""
        self.session.execute(refresh_token_hashes.insert().values(token_hash=family.current_hash,
                                                                  family_id=family.family_id))

    def by_token_hash(self, token_hash: str) -> RefreshTokenFamily | None:
        row = self.session.execute(sa.select(refresh_families).join(
            refresh_token_hashes, refresh_token_hashes.c.family_id == refresh_families.c.family_id).where(
            refresh_token_hashes.c.token_hash == token_hash)).first()
        return _family(row) if row is not None else None

    def family_id_of(self, token_hash: str) -> str | None:
        found = self.session.execute(sa.select(refresh_token_hashes.c.family_id).where(
            refresh_token_hashes.c.token_hash == token_hash)).first()
        return found[0] if found else None

    def save(self, family: RefreshTokenFamily) -> None:
        self.session.execute(refresh_families.update().where(refresh_families.c.family_id == family.family_id)
                             .values(current_hash=family.current_hash, used_hashes=family.used_hashes,
                                     current_issued_at=family.current_issued_at, revoked_at=family.revoked_at,
                                     revoked_reason=family.revoked_reason))

    def revoke(self, family_id: str, *, subject: str | None, now, reason: str) -> None:
        """End one session (of ``subject`` only, when given)."""
        query = refresh_families.update().where(refresh_families.c.family_id == family_id,
                                                refresh_families.c.revoked_at.is_(None))
        if subject is not None:
            query = query.where(refresh_families.c.subject == subject)
        self.session.execute(query.values(revoked_at=now, revoked_reason=reason))

    def revoke_all(self, subject: str, *, keep: str | None, now, reason: str) -> int:
        """End every session of ``subject`` but ``keep``; how many ended."""
        query = refresh_families.update().where(refresh_families.c.subject == subject,
                                                refresh_families.c.revoked_at.is_(None))
        if keep:
            query = query.where(refresh_families.c.family_id != keep)
        return self.session.execute(query.values(revoked_at=now, revoked_reason=reason)).rowcount

    def delete_ended(self, now, revoked_before) -> int:
        ended = sa.or_(refresh_families.c.expires_at < now, refresh_families.c.revoked_at < revoked_before)
        # Explicitly, not by ON DELETE CASCADE: SQLite enforces foreign keys only when told to.
        self.session.execute(refresh_token_hashes.delete().where(
            refresh_token_hashes.c.family_id.in_(sa.select(refresh_families.c.family_id).where(ended))))
        return self.session.execute(refresh_families.delete().where(ended)).rowcount
