"""``domain.throttling.ThrottleStore`` in the ``throttle_records`` table (keys are already hashed)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..domain.throttling import ThrottleRecord
from ..models import throttle_records


class DbThrottleStore:
    def __init__(self, session):
        self.session = session

    def get(self, key):
        row = self.session.execute(sa.select(throttle_records.c.record).where(throttle_records.c.key == key)).first()
        return ThrottleRecord.from_dict(row[0]) if row else None

    def put(self, key, record, *, expires_at):
        expires = dt.datetime.fromtimestamp(expires_at, dt.timezone.utc)
        updated = self.session.execute(throttle_records.update().where(throttle_records.c.key == key)
                                       .values(record=record.to_dict(), expires_at=expires)).rowcount
        if not updated:
            self.session.execute(throttle_records.insert().values(key=key, record=record.to_dict(),
                                                                  expires_at=expires))

    def delete(self, key):
        self.session.execute(throttle_records.delete().where(throttle_records.c.key == key))

    def delete_expired(self, now) -> int:
        return self.session.execute(throttle_records.delete().where(throttle_records.c.expires_at < now)).rowcount
