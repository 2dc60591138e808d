"""Delivery reports: find a notification by its provider and the provider's message id.

The provider's message id was already stored (``provider_reference``) when a
provider accepted a message; SMS delivery reports look notifications up by it.

Revision ID: notifications_0004
Revises: notifications_0003
"""
from alembic import op

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_notifications_provider_reference", "notifications", ["provider", "provider_reference"])


def downgrade():
    op.drop_index("ix_notifications_provider_reference", table_name="notifications")
