"""Notifications: a citizen's own history and preferences; one-click unsubscribe; for agents, search,
failures, resend and template preview.

The gateway checks the shape of requests (French 422 problems); the
notifications service decides who may see what (a citizen only their own
notifications and preferences; any authenticated agent, whatever their role,
the agent routes; anyone holding a signed unsubscribe link, that link's
recipient's opt-out).

The unsubscribe route is the target of the ``List-Unsubscribe`` header and of
the footer link of non-essential emails:

* ``POST`` (RFC 8058 one-click: mail providers send ``List-Unsubscribe=One-Click``
  as ``application/x-www-form-urlencoded`` or ``multipart/form-data``, the token
  in the query string) records the opt-out and answers JSON, or a small French
  page when a browser posts the confirmation form;
* ``GET`` (a person clicking the footer link) only shows that confirmation form:
  link scanners and prefetchers follow links, so a ``GET`` never unsubscribes.

SMS delivery reports (``POST /notifications/sms-reports/<provider>``) come from
an SMS provider, not a person: the gateway checks the report's shape and
forwards the provider name, the ``token`` query parameter and the report's
status and message ids to the notifications service, which alone knows the
providers and their report secrets and checks the token in constant time
(unknown provider: 404, missing or wrong token: 403, both problem+json). The
recipient's number the provider also sends is dropped here and logged nowhere.
"""
from __future__ import annotations

import html
import logging

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate

from guichet_common.errors import GuichetError, InvalidInput
from guichet_contracts.api import notifications as answers
from guichet_contracts.api.common import PageQuery
from guichet_contracts.fields import FrenchSchema

from ..api import Blueprint
from ..auth import require_agent, require_citizen
from ..problems import PROBLEM_MIMETYPE
from ..rpc import rpc_client
from ..schemas import ProblemSchema

log = logging.getLogger(__name__)

blp = Blueprint("notifications", __name__, url_prefix="", description="Notifications (courriels et SMS)")

def _notifications(method, caller, *args, **kwargs):
    return rpc_client().call("notifications", method, *args, kwargs=kwargs, caller=caller)


class SearchSchema(PageQuery):
    status = fields.String(validate=validate.OneOf(answers.STATUSES))
    recipient = fields.String(validate=validate.Length(min=1, max=254),
                              metadata={"description": "Account id or email address / E.164 number."})
    template = fields.String(validate=validate.Length(min=1, max=100))
    failed = fields.Boolean(load_default=False, metadata={"description": "Only the failed notifications."})


class PreferencesSchema(FrenchSchema):
    non_essential = fields.Boolean(required=True, metadata={
        "description": "Receive non-essential messages (reminders, new invoice, request progress, statements). "
                       "Essential ones (security, acknowledgements, decisions, receipts) are always sent."})


class UnsubscribeQuerySchema(FrenchSchema):
    token = fields.String(validate=validate.Length(min=1, max=512),
                          metadata={"description": "The signed token of the link (List-Unsubscribe)."})


class UnsubscribeFormSchema(FrenchSchema):
    class Meta:
        # RFC 8058's body is "List-Unsubscribe=One-Click"; whatever else a mail provider adds must not
        # turn a one-click unsubscribe into an error.
        unknown = ma.EXCLUDE

    token = fields.String(validate=validate.Length(min=1, max=512))
    list_unsubscribe = fields.String(data_key="List-Unsubscribe", metadata={"example": "One-Click"})


class PreviewSchema(FrenchSchema):
    personalisation = fields.Dict(keys=fields.String(), load_default=dict)
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(answers.CHANNELS))


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    @require_citizen
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, answers.CitizenNotificationPage)
    def get(self, query, caller):
        """My notifications (emails and SMS sent to me), newest first, a page at a time."""
        return _notifications("my_notifications", caller, cursor=query["cursor"], limit=query["limit"])


@blp.route("/me/notification-preferences")
class MyPreferences(MethodView):
    @require_citizen
    @blp.response(200, answers.NotificationPreferences)
    def get(self, caller):
        """Whether I receive non-essential messages (essential ones are always sent)."""
        return _notifications("my_notification_preferences", caller)

    @require_citizen
    @blp.arguments(PreferencesSchema)
    @blp.response(200, answers.NotificationPreferences)
    def patch(self, body, caller):
        """Opt in or out of non-essential messages (reminders, new invoice, request progress, statements)."""
        return _notifications("update_my_notification_preferences", caller, non_essential=body["non_essential"])


def _wants_html() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("text/html") > max(accept.quality("application/json"),
                                             accept.quality("application/problem+json"))


_PAGE_HEADERS = {
    # The token is in the address: no referrer, no third-party resource, no indexing, no framing.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
}


def _page(status: int, title: str, body: str) -> Response:
    document = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:36em;"
        "margin:3em auto;padding:0 1em;line-height:1.5;color:#161616}button{font:inherit;padding:.5em 1.2em;"
        "background:#000091;color:#fff;border:0;cursor:pointer}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(document, status=status, mimetype="text/html", headers=_PAGE_HEADERS)


_ESSENTIAL_NOTE = ("<p>Les messages essentiels (sécurité de votre compte, accusés de réception, décisions, reçus "
                   "de paiement) continueront de vous être envoyés. Vous pouvez changer d'avis à tout moment "
                   "depuis votre espace citoyen, rubrique préférences de notification.</p>")


class IncompleteUnsubscribeLink(GuichetError):
    slug, status, title = "unsubscribe-link-incomplete", 400, "Lien de désinscription incomplet"
    detail = "Ce lien de désinscription est incomplet : vérifiez qu'il a été copié en entier."


def _problem_page(error: GuichetError) -> Response:
    problem = error.problem()
    return _page(problem.get("status") or 400, problem.get("title") or "Désinscription impossible",
                 f"<p>{html.escape(problem.get('detail') or '')}</p>")


def _for_browsers_too(status: int, description: str):
    """Documents the page a browser (``Accept: text/html``) gets instead of the JSON answer or the problem;
    placed below the decorator documenting that answer, with the same description."""
    return blp.alt_response(status, schema={"type": "string"}, content_type="text/html", description=description,
                            success=status < 400)


_LINK_PROBLEM = ("Lien incomplet, invalide ou expiré (urn:guichet:problem:unsubscribe-link-incomplete, "
                 "unsubscribe-link-invalid, unsubscribe-link-expired); pour un navigateur, la page qui l'explique")
_UNSUBSCRIBED = "Désinscription enregistrée (pour un navigateur : la page qui le confirme)"


def _link_problem():
    """The 400 of both methods: a problem document."""
    return blp.alt_response(400, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE, description=_LINK_PROBLEM)


@blp.route("/notifications/unsubscribe")
class Unsubscribe(MethodView):
    @blp.arguments(UnsubscribeQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/html", description="Page de confirmation")
    @_link_problem()
    @_for_browsers_too(400, _LINK_PROBLEM)
    def get(self, query):
        """The page the footer link of a non-essential email opens: a button confirms (nothing changes on GET)."""
        if not query.get("token"):
            if _wants_html():
                return _problem_page(IncompleteUnsubscribeLink())
            raise IncompleteUnsubscribeLink()
        return _page(200, "Ne plus recevoir les messages non essentiels", (
            "<p>Vous ne recevrez plus les rappels et informations non essentielles de votre mairie "
            "(rappels, nouvelle facture disponible, avancement de vos demandes, relevés).</p>"
            + _ESSENTIAL_NOTE +
            "<form method='post'>"
            f"<input type='hidden' name='token' value='{html.escape(query['token'], quote=True)}'>"
            "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
            "<button type='submit'>Confirmer la désinscription</button></form>"))

    @blp.arguments(UnsubscribeQuerySchema, location="query")
    @blp.arguments(UnsubscribeFormSchema, location="form")
    @blp.response(200, answers.Unsubscribed, description=_UNSUBSCRIBED)
    @_for_browsers_too(200, _UNSUBSCRIBED)
    @_link_problem()
    @_for_browsers_too(400, _LINK_PROBLEM)
    def post(self, query, form):
        """One-click unsubscribe (RFC 8058) from non-essential messages; idempotent.

        The token comes from the link's query string (mail providers) or the form body (the
        confirmation page). An invalid or expired link is a 400 problem
        (``urn:guichet:problem:unsubscribe-link-invalid`` / ``unsubscribe-link-expired``), a page for
        a browser."""
        token = form.get("token") or query.get("token")
        if not token:
            raise InvalidInput(errors={"token": ["Le jeton du lien de désinscription est requis."]})
        try:
            result = _notifications("unsubscribe", None, token=token)
        except GuichetError as error:
            if error.status == 400 and _wants_html():
                return _problem_page(error)
            raise
        if _wants_html():
            return _page(200, "Désinscription enregistrée",
                         "<p>Vous ne recevrez plus les messages non essentiels de votre mairie.</p>"
                         + _ESSENTIAL_NOTE)
        return result


class SmsReportQuerySchema(FrenchSchema):
    token = fields.String(validate=validate.Length(min=1, max=512), metadata={
        "description": "The provider's report secret (part of the callback URL given with each SMS)."})


class _MessageId(fields.Field):
    """A provider's message id: a number (Brevo's ``messageId``) or a string."""

    default_error_messages = {"invalid": "Identifiant de message attendu (nombre ou texte)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)) or len(str(value)) > 255:
            raise self.make_error("invalid")
        return value


class SmsReportSchema(FrenchSchema):
    """Brevo's transactional SMS webhook (one object per event); the fields Guichet does not use (the
    recipient's number, credits, dates) are dropped, not refused: the provider decides its payload."""

    class Meta:
        unknown = ma.EXCLUDE

    msg_status = fields.String(required=True, validate=validate.Length(min=1, max=50), metadata={
        "description": "delivered, sent, accepted, soft_bounce, hard_bounce, rejected, blocked…",
        "example": "delivered"})
    messageId = _MessageId(metadata={"description": "The provider's message id (given when it accepted the SMS).",
                                     "example": 1511882900176220})
    reference = fields.String(validate=validate.Length(max=255), metadata={
        "description": "The provider's other id of the message."})


@blp.route("/notifications/sms-reports/<string:provider>")
class SmsReports(MethodView):
    @blp.arguments(SmsReportQuerySchema, location="query")
    @blp.arguments(SmsReportSchema)
    @blp.response(200, answers.SmsReportOutcome)
    @blp.problems(403, 404)
    def post(self, query, report, provider):
        """An SMS provider's delivery report (its webhook; the secret in ``token``).

        403: the token is missing or wrong (``urn:guichet:problem:sms-report-forbidden``); 404: no such
        provider (``sms-provider-unknown``).

        ``{"outcome": "updated"}`` when the SMS became delivered or failed, ``unchanged`` for a repeat or a
        status with no effect, ``ignored`` for a message Guichet does not know: all acknowledged (200), so the
        provider does not send them again."""
        data = {key: report[key] for key in ("msg_status", "messageId", "reference") if key in report}
        return _notifications("sms_delivery_report", None, provider=provider, token=query.get("token"),
                              report=data)


@blp.route("/agent/notifications")
class AgentNotifications(MethodView):
    @require_agent()
    @blp.arguments(SearchSchema, location="query")
    @blp.response(200, answers.AgentNotificationPage)
    def get(self, query, caller):
        """Search notifications by status, recipient or template; ``failed=true`` for the failed ones."""
        return _notifications("search_notifications", caller, status=query.get("status"),
                              recipient=query.get("recipient"), template=query.get("template"),
                              failed=query["failed"], cursor=query["cursor"], limit=query["limit"])


@blp.route("/agent/notifications/<string:notification_id>")
class AgentNotification(MethodView):
    @require_agent()
    @blp.response(200, answers.AgentNotificationDetail)
    @blp.problems(404)
    def get(self, notification_id, caller):
        """One notification with its status history."""
        return _notifications("get_notification", caller, notification_id=notification_id)


@blp.route("/agent/notifications/<string:notification_id>/resend")
class Resend(MethodView):
    @require_agent()
    @blp.response(202, answers.ResentNotification)
    @blp.problems(404, 409)
    def post(self, notification_id, caller):
        """Send again (a new notification, same template and personalisation, current contact details).

        409 when it is still being sent or its content was purged (the town's retention period)."""
        return _notifications("resend_notification", caller, notification_id=notification_id)


@blp.route("/agent/notification-templates")
class Templates(MethodView):
    @require_agent()
    @blp.response(200, answers.NotificationTemplate(many=True))
    def get(self, caller):
        """The templates, their version, channels and personalisation."""
        return _notifications("list_templates", caller)


@blp.route("/agent/notification-templates/<string:name>/preview")
class Preview(MethodView):
    @require_agent()
    @blp.arguments(PreviewSchema)
    @blp.response(200, answers.TemplatePreview)
    @blp.problems(404)
    def post(self, body, name, caller):
        """Render a template with the given personalisation (nothing is sent); 422 when the personalisation
        does not fit the template."""
        return _notifications("preview_template", caller, name=name, personalisation=body["personalisation"],
                              channel=body["channel"])
