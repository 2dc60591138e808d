"""A service with one RPC reading one database row: the RPC path under test."""
import sqlalchemy as sa

from guichet_common.db import messaging_tables, new_metadata
from guichet_common.messaging import DatabaseProvider, rpc
from guichet_common.service import GuichetService

metadata = new_metadata()
messaging_tables(metadata)
rows = sa.Table("rows", metadata,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("label", sa.String(50), nullable=False))


def fill(url: str, count: int = 1000) -> None:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(rows.delete())
        connection.execute(rows.insert(), [{"id": i, "label": f"ligne {i}"} for i in range(1, count + 1)])
    engine.dispose()


def read_row(connection, row_id: int) -> dict | None:
    row = connection.execute(sa.select(rows).where(rows.c.id == row_id)).first()
    return dict(row._mapping) if row else None


class BenchService(GuichetService):
    name = "benchsvc"
    has_migrations = False
    db = DatabaseProvider(metadata)

    @rpc
    def read_row(self, row_id):
        with self.db.engine.connect() as connection:
            return read_row(connection, row_id)
