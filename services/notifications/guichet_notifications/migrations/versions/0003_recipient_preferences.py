"""Recipient preferences: opting out of (and back into) non-essential messages.

Revision ID: notifications_0003
Revises: notifications_0002
"""
import sqlalchemy as sa
from alembic import op

from guichet_common.db import UtcDateTime

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recipient_preferences",
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("non_essential", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("recipient", name=op.f("pk_recipient_preferences")),
    )


def downgrade():
    op.drop_table("recipient_preferences")
