"""The service's own random secrets (the key of the made-up security questions).

Revision ID: accounts_0003
Revises: accounts_0002
"""
import sqlalchemy as sa
from alembic import op

from guichet_common.db import UtcDateTime

revision = "accounts_0003"
down_revision = "accounts_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("service_secrets")
