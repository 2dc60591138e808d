"""Preparing a notification: resolve its recipient, choose the channel, check the opt-out, render.

Used when a notification is requested and again at delivery when it could not be prepared then (the contact
details had not arrived). Every problem is a :class:`~..domain.delivery.DeliveryFailure` recorded on the
notification, never an error of the command.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .. import repository
from ..adapters.email_message import Attachment, validate_email_address
from ..domain import sms as sms_domain
from ..domain.delivery import ContactPoints, ContactUnknown, PermanentFailure, choose_channel
from ..domain.templates import Template
from ..domain.unsubscribe import Unsubscribed, blocked, recipient_key
from .context import Context


@dataclass(frozen=True)
class Prepared:
    channel: str
    address: str
    template_version: int
    essential: bool
    subject: str | None
    body: str
    body_html: str | None

    def values(self) -> dict:
        """The notification's columns this preparation fills."""
        return {"channel": self.channel, "recipient_address": self.address,
                "template_version": self.template_version, "essential": self.essential,
                "subject": self.subject, "body": self.body, "body_html": self.body_html}


def attachments(stored: Mapping) -> tuple[Attachment, ...]:
    """The files of a notification's stored request (base64), or a permanent failure."""
    files = []
    for item in stored.get("attachments") or ():
        try:
            content = base64.b64decode(item["content_base64"], validate=True)
            files.append(Attachment(filename=item["filename"], content=content,
                                    content_type=item.get("content_type") or "application/pdf"))
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise PermanentFailure("invalid_attachment", "pièce jointe invalide (base64 ou nom de fichier)") from None
        if files[-1].content_type == "application/pdf" and not content.startswith(b"%PDF-"):
            raise PermanentFailure("invalid_attachment", "la pièce jointe n'est pas un PDF")
    return tuple(files)


def check_subscribed(session, essential: bool, account_id: str | None, channel: str, address: str | None) -> None:
    """:class:`Unsubscribed` for a non-essential message to a recipient who opted out."""
    if essential:
        return
    key = recipient_key(account_id, address if channel == "email" else None)
    if blocked(essential=False, receives_non_essential=repository.receives_non_essential(session, key)):
        raise Unsubscribed()


def _contact_points(ctx: Context, explicit: Mapping, contact: Mapping | None) -> ContactPoints:
    if explicit.get("phone"):
        try:
            sms_domain.normalise_phone(explicit["phone"], mobile_only=True,
                                       allow_international=ctx.allow_international)
        except sms_domain.InvalidPhoneNumber as error:
            if not explicit.get("email") and not (contact and contact["email"]):
                raise PermanentFailure(error.code, error.message) from None
    if contact:
        preference = contact["preference"]
    else:
        preference = "sms" if explicit.get("phone") and not explicit.get("email") else "email"
    return ContactPoints(
        email=explicit.get("email") or (contact["email"] if contact else None),
        phone_mobile=explicit.get("phone") or (contact["phone_mobile"] if contact else None),
        phone_personal=None if explicit.get("phone") else (contact["phone_personal"] if contact else None),
        preference=preference)


def _email(ctx: Context, session, template: Template, row: Mapping, address: str,
           personalisation: Mapping[str, Any]) -> Prepared:
    address = validate_email_address(address)  # InvalidEmailAddress
    account_id = row.get("recipient_account_id")
    check_subscribed(session, template.essential, account_id, "email", address)
    rendered = ctx.renderer.render_email(
        template, personalisation,
        unsubscribe_url=None if template.essential else ctx.unsubscribe.link_for(account_id, address, ctx.clock()))
    if not template.essential and not ctx.unsubscribe.available:
        raise PermanentFailure("missing_unsubscribe", "lien de désinscription non configuré pour un message non essentiel")
    return Prepared("email", address, ctx.version(template.name), template.essential, rendered.subject,
                    rendered.text, rendered.html)


def prepare(ctx: Context, session, row: Mapping) -> Prepared:
    """Resolve the recipient, choose the channel, render: a :class:`Prepared` or a DeliveryFailure."""
    stored = json.loads(row["personalisation"] or "null")
    if stored is None:
        raise PermanentFailure("content_purged", "contenu supprimé (durée de conservation dépassée)")
    template = ctx.catalog.get_template(row["template"])  # UnknownTemplate
    explicit = stored.get("recipient") or {}
    contact = repository.contact(session, row["recipient_account_id"]) if row.get("recipient_account_id") else None
    if contact is None and not (explicit.get("email") or explicit.get("phone")):
        raise ContactUnknown()
    choice = choose_channel(template.channels, _contact_points(ctx, explicit, contact),
                            security=stored.get("security") or template.security,
                            forced=stored.get("forced_channel"), allow_international=ctx.allow_international)
    personalisation = dict(stored.get("personalisation") or {})
    if contact and contact["display_name"] and not personalisation.get("display_name"):
        personalisation["display_name"] = contact["display_name"]
    if attachments(stored) and choice.channel != "email":  # PermanentFailure on a bad file
        raise PermanentFailure("attachment_needs_email", "une pièce jointe ne peut partir que par courriel")
    if choice.channel == "email":
        return _email(ctx, session, template, row, choice.address, personalisation)
    check_subscribed(session, template.essential, row.get("recipient_account_id"), "sms", choice.address)
    rendered = ctx.renderer.render_sms(template, personalisation)
    return Prepared("sms", choice.address, ctx.version(template.name), template.essential, None, rendered.text, None)
