"""Outbox and inbox tables of the accounts service.

Revision ID: accounts_0001
Revises:
"""
from alembic import op

from guichet_common.migrations import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "accounts_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_messaging_tables_v1(op)


def downgrade():
    drop_messaging_tables_v1(op)
