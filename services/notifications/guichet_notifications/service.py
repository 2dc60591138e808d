"""Entrypoints of the notifications service (RPC, event and command handlers) and nothing else."""
from guichet_common.errors import InvalidInput
from guichet_common.messaging import DatabaseProvider, command_handler, rpc
from guichet_common.service import GuichetService

from .application import CONTACT_UPDATED, NOTIFICATION_REQUESTED
from .delivery_loop import DeliveryLoop
from .models import metadata

AGENT_ROLES = ()
"""Any agent may read the notification history, resend and preview (documented in the README)."""

STATUSES = ("created", "sending", "sent", "delivered", "temporary-failure", "permanent-failure",
            "technical-failure")


def _paging(page, page_size):
    try:
        page, page_size = int(page), int(page_size)
    except (TypeError, ValueError):
        raise InvalidInput(errors={"page": ["Nombre entier attendu."]}) from None
    errors = {}
    if page < 1:
        errors["page"] = ["La page commence à 1."]
    if not 1 <= page_size <= 100:
        errors["page_size"] = ["Entre 1 et 100 éléments par page."]
    if errors:
        raise InvalidInput(errors=errors)
    return page, page_size


class NotificationsService(GuichetService):
    name = "notifications"
    db = DatabaseProvider(metadata)
    notifier = DeliveryLoop()

    # --- commands ---------------------------------------------------------------------
    @command_handler(CONTACT_UPDATED)
    def contact_updated(self, envelope):
        self.notifier.update_contact(envelope["id"], envelope["data"])

    @command_handler(NOTIFICATION_REQUESTED)
    def notification_requested(self, envelope):
        self.notifier.request(envelope["id"], envelope["data"], source=envelope.get("source"))

    # --- citizens -----------------------------------------------------------------------
    @rpc
    def my_notifications(self, page=1, page_size=20):
        caller = self.caller.require_citizen()
        page, page_size = _paging(page, page_size)
        return self.notifier.list_for_account(caller.subject, page, page_size)

    @rpc
    def my_notification_preferences(self):
        caller = self.caller.require_citizen()
        return self.notifier.preferences(caller.subject)

    @rpc
    def update_my_notification_preferences(self, non_essential):
        """Opt in or out of non-essential messages; essential ones are always sent."""
        caller = self.caller.require_citizen()
        if not isinstance(non_essential, bool):
            raise InvalidInput(errors={"non_essential": ["Valeur booléenne attendue (true ou false)."]})
        return self.notifier.set_preferences(caller.subject, non_essential)

    # --- anyone holding an unsubscribe link ------------------------------------------------
    @rpc
    def unsubscribe(self, token):
        """RFC 8058 one-click unsubscribe: no caller check, the signed per-recipient token is the proof."""
        return self.notifier.unsubscribe(token)

    # --- SMS providers ---------------------------------------------------------------------
    @rpc
    def sms_delivery_report(self, provider, token, report):
        """A provider's delivery report. No caller check: like an unsubscribe token, the provider's report
        secret is the proof, and it is checked here again (constant time) after the gateway, so nothing
        else on the broker can forge a report by calling this RPC (a caller header is not signed)."""
        if not isinstance(provider, str) or not isinstance(report, dict):
            raise InvalidInput(errors={"report": ["Objet JSON attendu."]})
        return self.notifier.sms_report(provider, token, report)

    # --- agents -------------------------------------------------------------------------
    @rpc
    def search_notifications(self, status=None, recipient=None, template=None, failed=False, page=1, page_size=20):
        self.caller.require_agent(*AGENT_ROLES)
        page, page_size = _paging(page, page_size)
        if status and status not in STATUSES:
            raise InvalidInput(errors={"status": ["Statut inconnu : " + ", ".join(STATUSES) + "."]})
        return self.notifier.search(status=status, recipient=recipient, template=template, failed=bool(failed),
                                    page=page, page_size=page_size)

    @rpc
    def get_notification(self, notification_id):
        self.caller.require_agent(*AGENT_ROLES)
        return self.notifier.get(notification_id)

    @rpc
    def resend_notification(self, notification_id):
        caller = self.caller.require_agent(*AGENT_ROLES)
        return self.notifier.resend(notification_id, caller.subject)

    @rpc
    def preview_template(self, name, personalisation=None, channel=None):
        self.caller.require_agent(*AGENT_ROLES)
        if channel not in (None, "email", "sms"):
            raise InvalidInput(errors={"channel": ["Canal attendu : email ou sms."]})
        if personalisation is not None and not isinstance(personalisation, dict):
            raise InvalidInput(errors={"personalisation": ["Objet attendu."]})
        return self.notifier.preview(name, personalisation, channel)

    @rpc
    def list_templates(self):
        self.caller.require_agent(*AGENT_ROLES)
        return self.notifier.templates_summary()
