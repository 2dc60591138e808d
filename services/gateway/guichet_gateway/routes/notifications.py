"""Notifications: a citizen's own history; for agents, search, failures, resend and template preview.

The gateway checks the shape of requests (French 422 problems); the
notifications service decides who may see what (a citizen only their own
notifications; any authenticated agent, whatever their role, the agent routes).
"""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..api import Blueprint
from ..auth import require_agent, require_citizen
from ..rpc import rpc_client
from ..schemas import GuichetSchema

blp = Blueprint("notifications", __name__, url_prefix="", description="Notifications (courriels et SMS)")

STATUSES = ["created", "sending", "sent", "delivered", "temporary-failure", "permanent-failure",
            "technical-failure"]


def _notifications(method, caller, *args, **kwargs):
    return rpc_client().call("notifications", method, *args, kwargs=kwargs, caller=caller)


class PageSchema(GuichetSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchSchema(PageSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    recipient = fields.String(validate=validate.Length(min=1, max=254),
                              metadata={"description": "Account id or email address / E.164 number."})
    template = fields.String(validate=validate.Length(min=1, max=100))
    failed = fields.Boolean(load_default=False, metadata={"description": "Only the failed notifications."})


class PreviewSchema(GuichetSchema):
    personalisation = fields.Dict(keys=fields.String(), load_default=dict)
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["email", "sms"]))


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    @require_citizen
    @blp.arguments(PageSchema, location="query")
    @blp.response(200)
    def get(self, query, caller):
        """My notifications (emails and SMS sent to me), newest first."""
        return _notifications("my_notifications", caller, page=query["page"], page_size=query["page_size"])


@blp.route("/agent/notifications")
class AgentNotifications(MethodView):
    @require_agent()
    @blp.arguments(SearchSchema, location="query")
    @blp.response(200)
    def get(self, query, caller):
        """Search notifications by status, recipient or template; ``failed=true`` for the failed ones."""
        return _notifications("search_notifications", caller, status=query.get("status"),
                              recipient=query.get("recipient"), template=query.get("template"),
                              failed=query["failed"], page=query["page"], page_size=query["page_size"])


@blp.route("/agent/notifications/<string:notification_id>")
class AgentNotification(MethodView):
    @require_agent()
    @blp.response(200)
    def get(self, notification_id, caller):
        """One notification with its status history."""
        return _notifications("get_notification", caller, notification_id=notification_id)


@blp.route("/agent/notifications/<string:notification_id>/resend")
class Resend(MethodView):
    @require_agent()
    @blp.response(202)
    def post(self, notification_id, caller):
        """Send again (a new notification, same template and personalisation, current contact details)."""
        return _notifications("resend_notification", caller, notification_id=notification_id)


@blp.route("/agent/notification-templates")
class Templates(MethodView):
    @require_agent()
    @blp.response(200)
    def get(self, caller):
        """The templates, their version, channels and personalisation."""
        return _notifications("list_templates", caller)


@blp.route("/agent/notification-templates/<string:name>/preview")
class Preview(MethodView):
    @require_agent()
    @blp.arguments(PreviewSchema)
    @blp.response(200)
    def post(self, body, name, caller):
        """Render a template with the given personalisation (nothing is sent)."""
        return _notifications("preview_template", caller, name=name, personalisation=body["personalisation"],
                              channel=body["channel"])
