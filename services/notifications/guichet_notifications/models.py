"""Tables of the notifications service. Only this service reads or writes them.

* ``contacts``: the local contact directory (a copy of what accounts sends by
  command), so that sending works while accounts is down;
* ``templates``: every version of every template, seeded from the files at
  start (a new version row when a file's checksum changes);
* ``notifications``: one row per message to send, with its delivery state;
  ``personalisation`` and the rendered content are emptied after the town's
  retention period, the delivery record stays;
* ``notification_events``: the status history of each notification;
* ``recipient_preferences``: whether a recipient receives non-essential
  messages (one-click unsubscribe, the citizen's own choice). Kept apart from
  ``contacts`` on purpose: accounts' ``contact.updated`` commands rewrite a
  contact, never this choice, and a one-click unsubscribe may arrive for an
  account whose contact details are not here yet.

The migrations (``0002_notifications``, ``0003_recipient_preferences``,
``0004_provider_reference_index``, ``0005_lease_token``) create
exactly these tables (checked by tests/test_migrations.py): change both together.
"""
import sqlalchemy as sa

from guichet_common.db import UtcDateTime, messaging_tables, new_metadata

metadata = new_metadata()
outbox, inbox = messaging_tables(metadata)

contacts = sa.Table(
    "contacts", metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("phone_mobile", sa.String(20), nullable=True),
    sa.Column("phone_personal", sa.String(20), nullable=True),
    sa.Column("preference", sa.String(10), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

templates = sa.Table(
    "templates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_templates_name_version"),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("template", sa.String(100), nullable=False),
    sa.Column("template_version", sa.Integer, nullable=True),
    sa.Column("channel", sa.String(10), nullable=True),
    sa.Column("recipient_account_id", sa.String(64), nullable=True),
    sa.Column("recipient_address", sa.String(254), nullable=True),
    sa.Column("personalisation", sa.Text, nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("body_html", sa.Text, nullable=True),
    sa.Column("essential", sa.Boolean, nullable=False, default=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    # the delivery loop's batch that holds the notification until next_attempt_at (0005): renewed while that
    # process lives, cleared with the attempt's outcome; another process may take it once it expires
    sa.Column("lease_token", sa.String(32), nullable=True),
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
    sa.Index("ix_notifications_due", "status", "next_attempt_at"),
    sa.Index("ix_notifications_recipient", "recipient_account_id", "created_at"),
    sa.Index("ix_notifications_created_at", "created_at"),
    # delivery reports find their SMS by the provider's message id (0004)
    sa.Index("ix_notifications_provider_reference", "provider", "provider_reference"),
)

notification_events = sa.Table(
    "notification_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(500), nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_notification_events_notification", "notification_id", "id"),
)

recipient_preferences = sa.Table(
    "recipient_preferences", metadata,
    # "account:<account id>", or "email:<sha256 of the address>" for a recipient without an account
    # (guichet_notifications.domain.unsubscribe.recipient_key): no address is stored here.
    sa.Column("recipient", sa.String(100), primary_key=True),
    sa.Column("non_essential", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),  # one-click | citizen
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
