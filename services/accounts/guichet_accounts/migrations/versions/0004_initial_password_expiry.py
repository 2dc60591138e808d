"""The expiry of a town-created account's initial password (NULL: a password the citizen chose).

Revision ID: accounts_0004
Revises: accounts_0003
"""
import sqlalchemy as sa
from alembic import op

from guichet_common.db import UtcDateTime

revision = "accounts_0004"
down_revision = "accounts_0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("initial_password_expires_at", UtcDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("initial_password_expires_at")
