"""Leases with an owner: the batch of the delivery loop that holds a notification.

A process leases due notifications for a short time and renews the lease while it works on them; the token
tells its renewals and attempts apart from another process's, which may take them once the lease expired
(the process died).

Revision ID: notifications_0005
Revises: notifications_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "notifications_0005"
down_revision = "notifications_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notifications", sa.Column("lease_token", sa.String(32), nullable=True))


def downgrade():
    op.drop_column("notifications", "lease_token")
