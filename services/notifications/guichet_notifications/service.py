"""Entrypoints of the notifications service (RPC and command handlers) and nothing else: each checks its
caller, loads its arguments through a schema, calls one use case of the application and dumps its answer."""
from guichet_common.messaging import ApplicationProvider, DatabaseProvider, command_handler, rpc
from guichet_common.service import GuichetService
from guichet_contracts import types

from . import bootstrap
from . import schemas as s
from .models import metadata

AGENT_ROLES = ()
"""Any agent may read the notification history, resend and preview (documented in the README)."""


class NotificationsService(GuichetService):
    name = "notifications"
    db = DatabaseProvider(metadata)
    app = ApplicationProvider(bootstrap.build)

    # --- commands ---------------------------------------------------------------------
    @command_handler(types.CONTACT_UPDATED)
    def contact_updated(self, envelope):
        self.app.intake.update_contact(envelope["id"], envelope["data"])

    @command_handler(types.NOTIFICATION_REQUESTED)
    def notification_requested(self, envelope):
        self.app.intake.request(envelope["id"], envelope["data"], source=envelope.get("source"))

    # --- citizens -----------------------------------------------------------------------
    @rpc
    def my_notifications(self, cursor=None, limit=None):
        caller = self.caller.require_citizen()
        args = s.load(s.PageArgs(), {"cursor": cursor, "limit": limit})
        return s.CitizenNotificationPage().dump(self.app.history.my_notifications(caller.subject, **args))

    @rpc
    def my_notification_preferences(self):
        caller = self.caller.require_citizen()
        return s.NotificationPreferences().dump(self.app.preferences.preferences(caller.subject))

    @rpc
    def update_my_notification_preferences(self, non_essential=None):
        """Opt in or out of non-essential messages; essential ones are always sent."""
        caller = self.caller.require_citizen()
        args = s.load(s.PreferencesArgs(), {"non_essential": non_essential})
        return s.NotificationPreferences().dump(self.app.preferences.set_preferences(caller.subject, **args))

    # --- anyone holding an unsubscribe link ------------------------------------------------
    @rpc
    def unsubscribe(self, token=None):
        """RFC 8058 one-click unsubscribe: no caller check, the signed per-recipient token is the proof."""
        args = s.load(s.UnsubscribeArgs(), {"token": token})
        return s.Unsubscribed().dump(self.app.preferences.unsubscribe(**args))

    # --- SMS providers ---------------------------------------------------------------------
    @rpc
    def sms_delivery_report(self, provider=None, token=None, report=None):
        """A provider's delivery report, forwarded by the gateway. No caller check: like an unsubscribe token,
        the provider's report secret is the proof, checked by the use case (constant time), so nothing else on
        the broker can forge a report by calling this RPC (a caller header is not signed)."""
        args = s.load(s.SmsReportArgs(), {"provider": provider, "token": token, "report": report})
        return s.SmsReportOutcome().dump(self.app.reports.sms_report(**args))

    # --- agents -------------------------------------------------------------------------
    @rpc
    def search_notifications(self, status=None, recipient=None, template=None, failed=False, cursor=None,
                             limit=None):
        self.caller.require_agent(*AGENT_ROLES)
        args = s.load(s.SearchArgs(), {"status": status, "recipient": recipient, "template": template,
                                       "failed": failed, "cursor": cursor, "limit": limit})
        return s.AgentNotificationPage().dump(self.app.history.search(**args))

    @rpc
    def get_notification(self, notification_id=None):
        self.caller.require_agent(*AGENT_ROLES)
        args = s.load(s.NotificationArgs(), {"notification_id": notification_id})
        return s.AgentNotificationDetail().dump(self.app.history.get(**args))

    @rpc
    def resend_notification(self, notification_id=None):
        caller = self.caller.require_agent(*AGENT_ROLES)
        args = s.load(s.NotificationArgs(), {"notification_id": notification_id})
        return s.ResentNotification().dump(self.app.history.resend(agent_id=caller.subject, **args))

    @rpc
    def preview_template(self, name=None, personalisation=None, channel=None):
        self.caller.require_agent(*AGENT_ROLES)
        args = s.load(s.PreviewArgs(), {"name": name, "personalisation": personalisation, "channel": channel})
        return s.TemplatePreview().dump(self.app.templates.preview(**args))

    @rpc
    def list_templates(self):
        self.caller.require_agent(*AGENT_ROLES)
        return s.NotificationTemplate(many=True).dump(self.app.templates.summary())
