"""The real notifications service plus a handler for the test-only event."""
from guichet_common.messaging import event_handler
from guichet_notifications.service import NotificationsService

from .contracts import DEMANDE_SUBMITTED


class NotificationsWithEvents(NotificationsService):
    @classmethod
    def package(cls) -> str:
        return "guichet_notifications"

    @event_handler("demarchesfake", DEMANDE_SUBMITTED.type)
    def on_demande_submitted(self, event):
        data = event["data"]
        self.app.intake.request(event["id"], {
            "template": "demande_acknowledgement", "recipient": {"account_id": data["account_id"]},
            "reference": data["demande_number"],
            "personalisation": {key: data[key] for key in ("demande_number", "procedure_name", "submitted_at")},
        }, source=event.get("source"))
