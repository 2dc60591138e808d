"""The service's own random secrets (``service_secrets``), made once and shared by every replica."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import service_secrets


class SecretRepository:
    def __init__(self, connection):
        self.connection = connection  # a session or a plain connection

    def get(self, name: str) -> str | None:
        return self.connection.execute(sa.select(service_secrets.c.value)
                                       .where(service_secrets.c.name == name)).scalar()

    def add(self, name: str, value: str, *, now) -> None:
        self.connection.execute(service_secrets.insert().values(name=name, value=value, created_at=now))
