"""Contact directory, template versions, notifications and their status history.

Revision ID: notifications_0002
Revises: notifications_0001
"""
import sqlalchemy as sa
from alembic import op

from guichet_common.db import UtcDateTime

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contacts",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone_mobile", sa.String(20), nullable=True),
        sa.Column("phone_personal", sa.String(20), nullable=True),
        sa.Column("preference", sa.String(10), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_contacts")),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("name", "version", name="uq_templates_name_version"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(10), nullable=True),
        sa.Column("recipient_account_id", sa.String(64), nullable=True),
        sa.Column("recipient_address", sa.String(254), nullable=True),
        sa.Column("personalisation", sa.Text, nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("body_html", sa.Text, nullable=True),
        sa.Column("essential", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=True),
        sa.Column("provider", sa.String(50), nullable=True),
        sa.Column("provider_reference", sa.String(255), nullable=True),
        sa.Column("failure_code", sa.String(50), nullable=True),
        sa.Column("failure_reason", sa.String(500), nullable=True),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("source", sa.String(50), nullable=True),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("purged_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_recipient", "notifications", ["recipient_account_id", "created_at"])
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])
    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"], ondelete="CASCADE",
                                name=op.f("fk_notification_events_notification_id_notifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    op.create_index("ix_notification_events_notification", "notification_events", ["notification_id", "id"])


def downgrade():
    op.drop_index("ix_notification_events_notification", table_name="notification_events")
    op.drop_table("notification_events")
    op.drop_index("ix_notifications_created_at", table_name="notifications")
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("templates")
    op.drop_table("contacts")
