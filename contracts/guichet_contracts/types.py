"""The type of every event and command, as constants: code names a message by its constant, never by a literal.

``fr.guichet.<producer>.<entity>.<verb>.v<N>``; messages.py registers each
type's schema under these same names, and a test checks every registered type
has its constant here and every constant is registered.
"""
from __future__ import annotations

# --- accounts (events) ------------------------------------------------------------------
ACCOUNT_REGISTERED = "fr.guichet.accounts.account.registered.v1"
ACCOUNT_ACTIVATED = "fr.guichet.accounts.account.activated.v1"
ACCOUNT_VALIDATED = "fr.guichet.accounts.account.validated.v1"
ACCOUNT_UPDATED = "fr.guichet.accounts.account.updated.v1"
HOUSEHOLD_MEMBER_ADDED = "fr.guichet.accounts.household_member.added.v1"
HOUSEHOLD_MEMBER_CHANGED = "fr.guichet.accounts.household_member.changed.v1"
HOUSEHOLD_MEMBER_REMOVED = "fr.guichet.accounts.household_member.removed.v1"

# --- activities (events) ----------------------------------------------------------------
SCHOOLING_UPDATED = "fr.guichet.activities.schooling.updated.v1"
SCHOOLING_ENDED = "fr.guichet.activities.schooling.ended.v1"

# --- notifications (commands it receives, events it publishes) -----------------------------
NOTIFICATION_REQUESTED = "fr.guichet.notifications.notification.requested.v1"
CONTACT_UPDATED = "fr.guichet.notifications.contact.updated.v1"
NOTIFICATION_DELIVERED = "fr.guichet.notifications.notification.delivered.v1"
NOTIFICATION_FAILED = "fr.guichet.notifications.notification.failed.v1"
