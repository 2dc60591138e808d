"""Application layer of the notifications service: what each entrypoint does.

* :meth:`Notifier.update_contact` / :meth:`Notifier.request`: command handlers'
  work, each in one unit of work with its inbox claim, so a command is
  acknowledged only once its effect (a notification row, even a failed one)
  is durably recorded, and a redelivered command does nothing;
* :meth:`Notifier.deliver_due`: the delivery loop's work: lease due
  notifications (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas share),
  send each through the clients, record the outcome and its event;
* :meth:`Notifier.purge`: retention of personalised content;
* :meth:`Notifier.sms_report`: an SMS provider's delivery report (its secret
  checked again here), moving an accepted SMS to ``delivered`` or a failure;
* :meth:`Notifier.unsubscribe` / :meth:`Notifier.preferences` /
  :meth:`Notifier.set_preferences`: opting out of (and back into)
  non-essential messages;
* queries and agent actions behind the RPCs.

Bad input (unknown template, missing personalisation, invalid address or
number, no channel) never raises out of a handler: it becomes a notification
in ``permanent-failure`` with a stable ``failure_code`` and a French reason.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from guichet_common import context, smsreports
from guichet_common.db import Database, utcnow
from guichet_common.errors import Conflict, InvalidInput, NotFound

from .adapters.email import Attachment, EmailClient, OutgoingEmail, validate_email_address
from .adapters.sms import OutgoingSms, SmsClient
from .domain import reports as reports_domain
from .domain import sms as sms_domain
from .domain import unsubscribe as unsubscribe_domain
from .domain.delivery import (
    ContactPoints,
    DeliveryFailure,
    PermanentFailure,
    RetryPolicy,
    TemporaryFailure,
    as_failure,
    choose_channel,
    redact,
)
from .domain.delivery import NotificationStatus as S
from .domain.rendering import RenderedEmail, TemplateRenderer
from .domain.templates import TemplateCatalog, TemplateError, UnknownTemplate
from .domain.unsubscribe import UnsubscribeTokens, recipient_key
from .exceptions import ExpiredUnsubscribeLink, InvalidUnsubscribeLink
from .models import contacts, notification_events, notifications, recipient_preferences, templates

log = logging.getLogger(__name__)

CONTACT_UPDATED = "fr.guichet.notifications.contact.updated.v1"
NOTIFICATION_REQUESTED = "fr.guichet.notifications.notification.requested.v1"
DELIVERED = "fr.guichet.notifications.notification.delivered.v1"
FAILED = "fr.guichet.notifications.notification.failed.v1"


class ContactUnknown(TemporaryFailure):
    """The account's contact details have not arrived yet (commands are not ordered): retried."""

    def __init__(self):
        super().__init__("contact_unknown", "coordonnées du compte pas encore reçues")


class Unsubscribed(PermanentFailure):
    """A non-essential message to a recipient who opted out: not sent.

    Recorded as ``permanent-failure`` with the failure code ``unsubscribed``
    rather than under a new status: GOV.UK Notify's vocabulary has no
    "cancelled", and a suppressed recipient is, like a suppression list at a
    mail provider, a reason of the recipient's that no retry changes. Every
    consumer then already knows what to do: the ``notification.failed`` event
    (its contract's statuses unchanged) tells the sender, the agents' search
    (``failed=true``, ``status=permanent-failure``) lists it with its French
    reason, and nobody retries it.
    """

    def __init__(self):
        super().__init__(unsubscribe_domain.UNSUBSCRIBED, unsubscribe_domain.UNSUBSCRIBED_REASON)


@dataclass(frozen=True)
class Prepared:
    channel: str
    address: str
    template_version: int
    essential: bool
    subject: str | None
    body: str
    body_html: str | None


def _attachments(stored: dict) -> tuple[Attachment, ...]:
    files = []
    for item in stored.get("attachments") or ():
        try:
            content = base64.b64decode(item["content_base64"], validate=True)
            files.append(Attachment(filename=item["filename"], content=content,
                                    content_type=item.get("content_type") or "application/pdf"))
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise PermanentFailure("invalid_attachment", "pièce jointe invalide (base64 ou nom de fichier)") from None
        if content_type_mismatch(files[-1]):
            raise PermanentFailure("invalid_attachment", "la pièce jointe n'est pas un PDF")
    return tuple(files)


def content_type_mismatch(attachment: Attachment) -> bool:
    return attachment.content_type == "application/pdf" and not attachment.content.startswith(b"%PDF-")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


RECEIPT_TIMEOUT = dt.timedelta(hours=72)
"""An SMS still ``sending`` this long after the provider accepted it gets no report any more (GOV.UK Notify's
rule): it becomes a temporary failure, so that agents see it among the failed ones."""
NO_RECEIPT = "no_receipt"


class Notifier:
    def __init__(self, database: Database, catalog: TemplateCatalog, renderer: TemplateRenderer, *,
                 email_client: EmailClient, sms_client: SmsClient, retry: RetryPolicy | None = None,
                 retention_days: int = 90, unsubscribe_url: str | None = None,
                 unsubscribe_mailto: str | None = None, unsubscribe_tokens: UnsubscribeTokens | None = None,
                 allow_international: bool = False, lease_seconds: float = 300.0,
                 sms_report_secrets: dict[str, tuple[str, ...]] | None = None,
                 receipt_timeout: dt.timedelta = RECEIPT_TIMEOUT,
                 clock: Callable[[], dt.datetime] = utcnow, wake: Callable[[], None] | None = None):
        self.db = database
        self.catalog = catalog
        self.renderer = renderer
        self.email_client = email_client
        self.sms_client = sms_client
        self.retry = retry or RetryPolicy()
        self.retention_days = retention_days
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_mailto = unsubscribe_mailto
        self.unsubscribe_tokens = unsubscribe_tokens
        self.allow_international = allow_international
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.sms_report_secrets = dict(sms_report_secrets or {})
        self.receipt_timeout = receipt_timeout
        self.clock = clock
        self.wake = wake or (lambda: None)
        self.versions: dict[str, int] = {}
        self._postgres = database.engine.dialect.name == "postgresql"

    # --- templates ------------------------------------------------------------------
    def seed_templates(self) -> dict[str, int]:
        """Record each template file in the database; a new version when its checksum changed."""
        for attempt in range(3):
            try:
                with self.db.unit_of_work() as uow:
                    rows = uow.session.execute(sa.select(templates.c.name, templates.c.version, templates.c.checksum)
                                               .order_by(templates.c.name, templates.c.version)).all()
                    latest = {row.name: row for row in rows}
                    versions = {}
                    for name in self.catalog:
                        template = self.catalog[name]
                        row = latest.get(name)
                        if row is not None and row.checksum == template.checksum:
                            versions[name] = row.version
                            continue
                        version = max(template.version, row.version + 1 if row is not None else 1)
                        uow.session.execute(templates.insert().values(
                            name=name, version=version, checksum=template.checksum, created_at=self.clock(),
                            content=_json({"meta": {"version": template.version, "channels": template.channels,
                                                    "essential": template.essential, "security": template.security,
                                                    "required": template.required, "optional": template.optional},
                                           "sources": dict(template.sources)})))
                        versions[name] = version
                    uow.commit()
                self.versions = versions
                return versions
            except IntegrityError:  # another replica seeded at the same time
                continue
        raise RuntimeError("could not seed the templates")

    def _version(self, name: str) -> int:
        return self.versions.get(name) or self.catalog[name].version

    # --- contact directory ----------------------------------------------------------
    def update_contact(self, message_id: str, data: dict) -> bool:
        with self.db.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "notifications.contact_updated"):
                return False
            values = {key: data.get(key) for key in ("email", "phone_mobile", "phone_personal", "preference",
                                                     "display_name")}
            values["updated_at"] = self.clock()
            exists = uow.session.execute(sa.select(contacts.c.account_id)
                                         .where(contacts.c.account_id == data["account_id"])).first()
            if exists:
                uow.session.execute(contacts.update().where(contacts.c.account_id == data["account_id"])
                                    .values(**values))
            else:
                uow.session.execute(contacts.insert().values(account_id=data["account_id"], **values))
            uow.commit()
        self.wake()  # notifications waiting for this contact may go now
        return True

    # --- requests -------------------------------------------------------------------
    def request(self, message_id: str, data: dict, *, source: str | None = None) -> str | None:
        """Record the notification a command asks for (or its failure). None for a duplicate."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "notifications.notification_requested"):
                return None
            recipient = data.get("recipient") or {}
            row = {
                "id": str(uuid.uuid4()), "template": data["template"], "channel": data.get("channel"),
                "recipient_account_id": recipient.get("account_id"),
                "recipient_address": None,
                "personalisation": _json({"personalisation": data.get("personalisation") or {},
                                          "recipient": {k: recipient.get(k) for k in ("email", "phone")},
                                          "forced_channel": data.get("channel"),
                                          "security": bool(data.get("security")),
                                          "attachments": data.get("attachments") or []}),
                "essential": True, "status": S.CREATED.value, "attempts": 0, "next_attempt_at": now,
                "reference": data.get("reference"), "source": (source or "")[:50] or None,
                "message_id": message_id[:64], "correlation_id": (context.correlation_id.get() or "")[:200] or None,
                "created_at": now, "updated_at": now,
            }
            detail = "demande reçue"
            try:
                if len(row["recipient_account_id"] or "") > 64:
                    row["recipient_account_id"] = None
                    raise PermanentFailure("invalid_recipient", "identifiant de compte invalide (64 caractères au plus)")
                prepared = self._prepare(uow.session, row)
            except ContactUnknown as waiting:
                detail = waiting.detail  # kept as created: sent once accounts' contact command arrives
            except DeliveryFailure as failure:
                self._fail_row(row, failure)
                try:  # the record says what kind of message it was, even when it could not be prepared
                    row["essential"] = self.catalog.get_template(row["template"]).essential
                except UnknownTemplate:
                    pass
            except sa.exc.SQLAlchemyError:
                raise  # the database: the command is retried by the chassis
            except Exception as error:  # noqa: BLE001 - a bug of ours: recorded, an agent may resend
                log.exception("notification could not be prepared", extra={"fields": {"notification_id": row["id"]}})
                self._fail_row(row, as_failure(error))
            else:
                row.update(self._prepared_values(prepared))
            uow.session.execute(notifications.insert().values(**row))
            self._history(uow.session, row["id"], row["status"], row.get("failure_reason") or detail, now)
            if row["status"] != S.CREATED.value:
                self._publish_outcome(uow, row)
            uow.commit()
        if row["status"] == S.CREATED.value:
            self.wake()
        return row["id"]

    @staticmethod
    def _prepared_values(prepared: Prepared) -> dict:
        return {"channel": prepared.channel, "recipient_address": prepared.address,
                "template_version": prepared.template_version, "essential": prepared.essential,
                "subject": prepared.subject, "body": prepared.body, "body_html": prepared.body_html}

    def _fail_row(self, row: dict, failure: DeliveryFailure) -> None:
        row.update(status=failure.status.value, failure_code=failure.code[:50],
                   failure_reason=(failure.detail or failure.code)[:500], next_attempt_at=None)

    def _prepare(self, session, row: dict) -> Prepared:
        """Resolve the recipient, choose the channel, render: a :class:`Prepared` or a DeliveryFailure."""
        stored = json.loads(row["personalisation"] or "null")
        if stored is None:
            raise PermanentFailure("content_purged", "contenu supprimé (durée de conservation dépassée)")
        template = self.catalog.get_template(row["template"])  # UnknownTemplate
        explicit = stored.get("recipient") or {}
        contact = None
        if row.get("recipient_account_id"):
            contact = session.execute(sa.select(contacts).where(
                contacts.c.account_id == row["recipient_account_id"])).mappings().first()
        if contact is None and not (explicit.get("email") or explicit.get("phone")):
            raise ContactUnknown()
        if explicit.get("phone"):
            try:
                sms_domain.normalise_phone(explicit["phone"], mobile_only=True,
                                           allow_international=self.allow_international)
            except sms_domain.InvalidPhoneNumber as error:
                if not explicit.get("email") and not (contact and contact["email"]):
                    raise PermanentFailure(error.code, error.message) from None
        preference = contact["preference"] if contact else ("sms" if explicit.get("phone") and
                                                            not explicit.get("email") else "email")
        points = ContactPoints(
            email=explicit.get("email") or (contact["email"] if contact else None),
            phone_mobile=explicit.get("phone") or (contact["phone_mobile"] if contact else None),
            phone_personal=None if explicit.get("phone") else (contact["phone_personal"] if contact else None),
            preference=preference)
        choice = choose_channel(template.channels, points, security=stored.get("security") or template.security,
                                forced=stored.get("forced_channel"), allow_international=self.allow_international)
        personalisation = dict(stored.get("personalisation") or {})
        if contact and contact["display_name"] and not personalisation.get("display_name"):
            personalisation["display_name"] = contact["display_name"]
        attachments = _attachments(stored)  # PermanentFailure on a bad file
        if attachments and choice.channel != "email":
            raise PermanentFailure("attachment_needs_email", "une pièce jointe ne peut partir que par courriel")
        if choice.channel == "email":
            address = validate_email_address(choice.address)  # InvalidEmailAddress
            self._check_subscribed(session, template.essential, row.get("recipient_account_id"), "email", address)
            rendered: RenderedEmail = self.renderer.render_email(
                template, personalisation,
                unsubscribe_url=None if template.essential else self._unsubscribe_link(
                    row.get("recipient_account_id"), address))
            if not template.essential and not (self.unsubscribe_url or self.unsubscribe_mailto):
                raise PermanentFailure("missing_unsubscribe",
                                       "lien de désinscription non configuré pour un message non essentiel")
            return Prepared("email", address, self._version(template.name), template.essential,
                            rendered.subject, rendered.text, rendered.html)
        self._check_subscribed(session, template.essential, row.get("recipient_account_id"), "sms", choice.address)
        rendered_sms = self.renderer.render_sms(template, personalisation)
        return Prepared("sms", choice.address, self._version(template.name), template.essential, None,
                        rendered_sms.text, None)

    # --- delivery -------------------------------------------------------------------
    def lease_due(self, limit: int = 50) -> list[str]:
        """Ids of due notifications, leased to this process (their next attempt moved past the lease)."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            query = (sa.select(notifications.c.id)
                     .where(notifications.c.status.in_([S.CREATED.value, S.TEMPORARY_FAILURE.value]),
                            notifications.c.next_attempt_at <= now)
                     .order_by(notifications.c.next_attempt_at).limit(limit))
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            ids = list(uow.session.execute(query).scalars())
            if ids:
                uow.session.execute(notifications.update().where(notifications.c.id.in_(ids))
                                    .values(next_attempt_at=now + self.lease))
            uow.commit()
        return ids

    def deliver_due(self, limit: int = 50, spawn: Callable | None = None) -> int:
        ids = self.lease_due(limit)
        if spawn is None:
            for notification_id in ids:
                self.deliver(notification_id)
        else:
            spawn(ids)
        return len(ids)

    def deliver(self, notification_id: str) -> str:
        """One attempt for one leased notification; returns its new status."""
        token = context.correlation_id.set(None)
        try:
            return self._deliver(notification_id)
        finally:
            context.correlation_id.reset(token)

    def _deliver(self, notification_id: str) -> str:
        with self.db.unit_of_work() as uow:
            row = uow.session.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                                      ).mappings().first()
            if row is None or row["status"] not in (S.CREATED.value, S.TEMPORARY_FAILURE.value):
                return row["status"] if row else "missing"
            row = dict(row)
            context.correlation_id.set(row.get("correlation_id") or context.new_id())
            attempts = row["attempts"] + 1
            now = self.clock()
            changes: dict[str, Any] = {"attempts": attempts, "updated_at": now}
            try:
                if not row["channel"] or not row["recipient_address"] or row["body"] is None:
                    prepared = self._prepare(uow.session, row)
                    changes.update(self._prepared_values(prepared))
                    row.update(changes)
                else:  # prepared when requested: the recipient may have opted out since
                    self._check_subscribed(uow.session, row["essential"], row["recipient_account_id"],
                                           row["channel"], row["recipient_address"])
                receipt = self._send(row)
            except sa.exc.SQLAlchemyError:
                raise  # the database: the lease expires and the notification is tried again
            except Exception as error:  # noqa: BLE001 - every failure is classified and recorded
                failure = as_failure(error)
                if failure.code == "unexpected_error":
                    log.exception("notification delivery failed unexpectedly",
                                  extra={"fields": {"notification_id": notification_id}})
                decision = self.retry.decide(failure, attempts, now)
                changes.update(status=decision.status.value, next_attempt_at=decision.retry_at,
                               failure_code=failure.code[:50], failure_reason=redact(decision.reason, 500),
                               provider=failure.provider)
                detail = changes["failure_reason"]
                final = not decision.retry
            else:
                changes.update(status=str(receipt.status), next_attempt_at=None, provider=receipt.provider,
                               provider_reference=(receipt.reference or "")[:255] or None, sent_at=now,
                               failure_code=None, failure_reason=None)
                detail = redact(receipt.detail or receipt.provider, 500)
                final = True
            uow.session.execute(notifications.update().where(notifications.c.id == notification_id).values(**changes))
            row.update(changes)
            self._history(uow.session, notification_id, changes["status"], detail, now)
            if final:
                self._publish_outcome(uow, row)
            uow.commit()
        return changes["status"]

    def _send(self, row: dict):
        if row["channel"] == "email":
            email = OutgoingEmail(to=row["recipient_address"], subject=row["subject"], text=row["body"],
                                  html=row["body_html"], essential=row["essential"], reference=row["id"],
                                  unsubscribe_url=None if row["essential"] else self._unsubscribe_link(
                                      row["recipient_account_id"], row["recipient_address"]),
                                  unsubscribe_mailto=None if row["essential"] else self.unsubscribe_mailto,
                                  attachments=_attachments(json.loads(row["personalisation"] or "{}")))
            return self.email_client.send(email)
        return self.sms_client.send(OutgoingSms(to=row["recipient_address"], text=row["body"], reference=row["id"]))

    # --- delivery reports ---------------------------------------------------------------
    def sms_report(self, provider: str, token, report: dict) -> dict:
        """A delivery report of ``provider`` about one SMS it accepted.

        The token must be one of the provider's report secrets (checked in constant time, whatever the
        gateway already checked): :class:`~guichet_common.smsreports.UnknownSmsProvider` /
        :class:`~guichet_common.smsreports.SmsReportForbidden` otherwise. A report about a message we do not
        know, with no meaning, or repeating the current status is acknowledged and changes nothing
        (``outcome``: ``ignored`` / ``unchanged``); a status change is recorded in the history and publishes
        ``notification.delivered`` or ``notification.failed`` in the same unit of work, once (the update is
        conditional on the status read, so two copies of one report racing change it once)."""
        smsreports.check(self.sms_report_secrets, provider, token)
        outcome = reports_domain.brevo_outcome((report or {}).get("msg_status"))
        references = reports_domain.brevo_references(report or {})
        if not references:
            return {"outcome": "ignored"}
        now = self.clock()
        with self.db.unit_of_work() as uow:
            row = uow.session.execute(
                sa.select(notifications).where(notifications.c.provider == provider,
                                               notifications.c.provider_reference.in_(references),
                                               notifications.c.channel == "sms")
                .order_by(notifications.c.created_at.desc()).limit(1)).mappings().first()
            if row is None:
                return {"outcome": "ignored"}
            row = dict(row)
            if row["status"] == S.TEMPORARY_FAILURE.value and row["next_attempt_at"] is not None:
                return {"outcome": "unchanged"}  # a retry is scheduled: that attempt's own receipt will tell
            new = reports_domain.new_status(row["status"], outcome)
            if new is None:
                return {"outcome": "unchanged"}
            changes: dict[str, Any] = {"status": new.value, "updated_at": now}
            if new == S.DELIVERED:
                changes.update(failure_code=None, failure_reason=None)
            else:
                changes.update(failure_code=outcome.code, failure_reason=outcome.reason, next_attempt_at=None)
            detail = f"compte rendu {provider} : {outcome.provider_status}" + (
                f" — {outcome.reason}" if outcome.reason else "")
            if not self._change_status(uow, row, changes, detail, now):
                return {"outcome": "unchanged"}  # another copy of the report got there first
            uow.commit()
        log.info("sms delivery report applied", extra={"fields": {"notification_id": row["id"], "status": new.value,
                                                                   "provider": provider}})
        return {"outcome": "updated"}

    def expire_unconfirmed(self, limit: int = 500) -> int:
        """Turn SMS whose delivery report never came (``receipt_timeout`` after acceptance) into temporary
        failures, not retried (the provider has the message; sending it again could deliver it twice)."""
        now = self.clock()
        expired = 0
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(
                sa.select(notifications).where(notifications.c.status == S.SENDING.value,
                                               notifications.c.sent_at < now - self.receipt_timeout)
                .order_by(notifications.c.sent_at).limit(limit)).mappings().all()
            hours = int(self.receipt_timeout.total_seconds() // 3600)
            reason = f"aucun compte rendu de remise du fournisseur en {hours} heures"
            for found in rows:
                row = dict(found)
                changes = {"status": S.TEMPORARY_FAILURE.value, "failure_code": NO_RECEIPT, "failure_reason": reason,
                           "next_attempt_at": None, "updated_at": now}
                if self._change_status(uow, row, changes, reason, now):  # False: a report arrived meanwhile
                    expired += 1
            uow.commit()
        return expired

    # --- unsubscribe and preferences --------------------------------------------------
    def _unsubscribe_link(self, account_id: str | None, address: str | None) -> str | None:
        """The recipient's own one-click link (a signed token added to the base URL); the bare
        URL when no token can be made (no signer configured)."""
        if not self.unsubscribe_url:
            return None
        key = recipient_key(account_id, address)
        if self.unsubscribe_tokens is None or key is None:
            return self.unsubscribe_url
        return unsubscribe_domain.link(self.unsubscribe_url, self.unsubscribe_tokens.issue(key, self.clock()))

    @staticmethod
    def _receives_non_essential(session, key: str | None) -> bool:
        if key is None:
            return True
        value = session.execute(sa.select(recipient_preferences.c.non_essential)
                                .where(recipient_preferences.c.recipient == key)).scalar()
        return True if value is None else bool(value)

    def _check_subscribed(self, session, essential: bool, account_id: str | None, channel: str,
                          address: str | None) -> None:
        """:class:`Unsubscribed` for a non-essential message to a recipient who opted out."""
        if essential:
            return
        key = recipient_key(account_id, address if channel == "email" else None)
        if unsubscribe_domain.blocked(essential=False, receives_non_essential=self._receives_non_essential(
                session, key)):
            raise Unsubscribed()

    def _set_preference(self, session, key: str, non_essential: bool, source: str) -> None:
        now = self.clock()
        values = {"non_essential": non_essential, "source": source, "updated_at": now}
        changed = session.execute(recipient_preferences.update()
                                  .where(recipient_preferences.c.recipient == key).values(**values)).rowcount
        if not changed:
            session.execute(recipient_preferences.insert().values(recipient=key, **values))

    def unsubscribe(self, token) -> dict:
        """One-click unsubscribe: the token's recipient receives no more non-essential messages.

        Idempotent (a second click, or the mail provider's POST and the person's, change nothing
        more). Raises :class:`InvalidUnsubscribeLink` / :class:`ExpiredUnsubscribeLink`."""
        if self.unsubscribe_tokens is None:
            raise InvalidUnsubscribeLink()
        try:
            key = self.unsubscribe_tokens.verify(token, self.clock())
        except unsubscribe_domain.ExpiredUnsubscribeToken:
            raise ExpiredUnsubscribeLink() from None
        except unsubscribe_domain.InvalidUnsubscribeToken:
            raise InvalidUnsubscribeLink() from None
        for attempt in range(2):
            try:
                with self.db.unit_of_work() as uow:
                    if self._receives_non_essential(uow.session, key):
                        self._set_preference(uow.session, key, False, "one-click")
                    uow.commit()
                break
            except IntegrityError:  # two clicks at the same time inserted the same row: the other one won
                if attempt:
                    raise
        return {"unsubscribed": True, "scope": "non_essential"}

    def _non_essential_templates(self) -> list[str]:
        return [name for name in self.catalog if not self.catalog[name].essential]

    def preferences(self, account_id: str) -> dict:
        with self.db.engine.connect() as connection:
            row = connection.execute(sa.select(recipient_preferences).where(
                recipient_preferences.c.recipient == recipient_key(account_id))).mappings().first()
        return {"non_essential": True if row is None else bool(row["non_essential"]),
                "updated_at": row["updated_at"].isoformat() if row is not None else None,
                "non_essential_templates": self._non_essential_templates()}

    def set_preferences(self, account_id: str, non_essential: bool) -> dict:
        """The citizen's choice (opting back in after a one-click unsubscribe included)."""
        for attempt in range(2):
            try:
                with self.db.unit_of_work() as uow:
                    self._set_preference(uow.session, recipient_key(account_id), bool(non_essential), "citizen")
                    uow.commit()
                break
            except IntegrityError:
                if attempt:
                    raise
        return self.preferences(account_id)

    def _change_status(self, uow, row: dict, changes: dict, detail: str, now: dt.datetime) -> bool:
        """Apply ``changes`` if the notification still has the status ``row`` was read with (two reports, or a
        report and the receipt timeout, racing: one wins), with its history line and outcome event."""
        updated = uow.session.execute(
            notifications.update().where(notifications.c.id == row["id"],
                                         notifications.c.status == row["status"]).values(**changes)).rowcount
        if updated != 1:
            return False
        row.update(changes)
        self._history(uow.session, row["id"], changes["status"], detail, now)
        self._publish_outcome(uow, row)
        return True

    def _history(self, session, notification_id: str, status: str, detail: str | None, at: dt.datetime) -> None:
        session.execute(notification_events.insert().values(notification_id=notification_id, status=status,
                                                            detail=(detail or None) and detail[:500], at=at))

    def _publish_outcome(self, uow, row: dict) -> None:
        delivered = row["status"] in (S.SENT.value, S.DELIVERED.value, S.SENDING.value)
        status = S.SENT.value if row["status"] == S.SENDING.value else row["status"]
        uow.publish_event(DELIVERED if delivered else FAILED, {
            "notification_id": row["id"], "template": row["template"][:100], "channel": row.get("channel"),
            "status": status, "reference": row.get("reference"),
            "failure_code": None if delivered else row.get("failure_code")}, subject=f"notification/{row['id']}")

    # --- retention ------------------------------------------------------------------
    def purge(self) -> int:
        """Empty personalisation and rendered content of finished notifications older than the retention."""
        now = self.clock()
        cutoff = now - dt.timedelta(days=self.retention_days)
        with self.db.unit_of_work() as uow:
            result = uow.session.execute(
                notifications.update()
                .where(notifications.c.created_at < cutoff, notifications.c.purged_at.is_(None),
                       notifications.c.next_attempt_at.is_(None))
                .values(personalisation=None, subject=None, body=None, body_html=None, purged_at=now))
            uow.commit()
        return result.rowcount or 0

    # --- queries and agent actions ----------------------------------------------------
    @staticmethod
    def _summary(row, *, agent: bool) -> dict:
        item = {"id": row["id"], "template": row["template"], "channel": row["channel"], "status": row["status"],
                "reference": row["reference"], "subject": row["subject"],
                "created_at": row["created_at"].isoformat(),
                "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
                "failure_reason": row["failure_reason"]}
        if agent:
            item.update(recipient_account_id=row["recipient_account_id"],
                        recipient_address=row["recipient_address"], attempts=row["attempts"],
                        provider=row["provider"], failure_code=row["failure_code"],
                        next_attempt_at=row["next_attempt_at"].isoformat() if row["next_attempt_at"] else None,
                        updated_at=row["updated_at"].isoformat())
        return item

    def _page(self, where, page: int, page_size: int, *, agent: bool) -> dict:
        page, page_size = max(1, int(page)), min(100, max(1, int(page_size)))
        with self.db.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(notifications).where(*where)).scalar_one()
            rows = connection.execute(sa.select(notifications).where(*where)
                                      .order_by(notifications.c.created_at.desc(), notifications.c.id)
                                      .limit(page_size).offset((page - 1) * page_size)).mappings().all()
        return {"items": [self._summary(r, agent=agent) for r in rows], "page": page, "page_size": page_size,
                "total": total}

    def list_for_account(self, account_id: str, page: int = 1, page_size: int = 20) -> dict:
        return self._page([notifications.c.recipient_account_id == account_id], page, page_size, agent=False)

    def search(self, *, status: str | None = None, recipient: str | None = None, template: str | None = None,
               failed: bool = False, page: int = 1, page_size: int = 20) -> dict:
        where = []
        if status:
            where.append(notifications.c.status == status)
        if failed:  # given up: permanent and technical failures, temporary ones out of retries
            where.append(sa.or_(
                notifications.c.status.in_([S.PERMANENT_FAILURE.value, S.TECHNICAL_FAILURE.value]),
                sa.and_(notifications.c.status == S.TEMPORARY_FAILURE.value,
                        notifications.c.next_attempt_at.is_(None))))
        if template:
            where.append(notifications.c.template == template)
        if recipient:
            where.append(sa.or_(notifications.c.recipient_account_id == recipient,
                                sa.func.lower(notifications.c.recipient_address) == recipient.strip().lower()))
        return self._page(where, page, page_size, agent=True)

    def get(self, notification_id: str) -> dict:
        with self.db.engine.connect() as connection:
            row = connection.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                                     ).mappings().first()
            if row is None:
                raise NotFound("Notification introuvable.")
            history = connection.execute(sa.select(notification_events)
                                         .where(notification_events.c.notification_id == notification_id)
                                         .order_by(notification_events.c.id)).mappings().all()
        item = self._summary(row, agent=True)
        item["history"] = [{"status": h["status"], "detail": h["detail"], "at": h["at"].isoformat()} for h in history]
        return item

    def resend(self, notification_id: str, agent_id: str | None = None) -> dict:
        """A new notification with the same template, recipient and personalisation (re-resolved)."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            row = uow.session.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                                      ).mappings().first()
            if row is None:
                raise NotFound("Notification introuvable.")
            if row["personalisation"] is None:
                raise Conflict("Le contenu de cette notification a été supprimé (durée de conservation dépassée) : "
                               "elle ne peut pas être renvoyée.")
            if row["status"] in (S.CREATED.value,) or row["next_attempt_at"] is not None:
                raise Conflict("Cette notification est encore en cours d'envoi.")
            new = {key: row[key] for key in ("template", "recipient_account_id", "personalisation", "reference",
                                             "source", "essential")}
            new.update(id=str(uuid.uuid4()), status=S.CREATED.value, attempts=0, next_attempt_at=now,
                       channel=None, message_id=None, correlation_id=context.correlation_id.get(),
                       created_at=now, updated_at=now)
            if not row["recipient_account_id"]:
                new.update(channel=row["channel"], recipient_address=row["recipient_address"])
            uow.session.execute(notifications.insert().values(**new))
            self._history(uow.session, new["id"], S.CREATED.value,
                          f"renvoi de {notification_id}" + (f" par {agent_id}" if agent_id else ""), now)
            uow.commit()
        self.wake()
        return {"id": new["id"], "resent_from": notification_id, "status": S.CREATED.value}

    def templates_summary(self) -> list[dict]:
        return [{"name": name, "version": self._version(name), "description": self.catalog[name].description,
                 "channels": list(self.catalog[name].channels), "essential": self.catalog[name].essential,
                 "security": self.catalog[name].security, "required": list(self.catalog[name].required),
                 "optional": list(self.catalog[name].optional)} for name in self.catalog]

    def preview(self, name: str, personalisation: dict | None, channel: str | None = None) -> dict:
        try:
            template = self.catalog.get_template(name)
        except UnknownTemplate:
            raise NotFound(f"Modèle inconnu : {name}") from None
        channel = channel or template.channels[0]
        try:
            rendered = self.renderer.render(
                template, channel, personalisation or {},
                unsubscribe_url=unsubscribe_domain.link(self.unsubscribe_url or "https://example.invalid/desinscription",
                                                        "APERCU"))
        except TemplateError as error:
            raise InvalidInput(error.detail, errors={"personalisation": [error.detail]}) from None
        base = {"template": name, "version": self._version(name), "channel": channel,
                "essential": template.essential, "security": template.security,
                "channels": list(template.channels), "required": list(template.required),
                "optional": list(template.optional)}
        if channel == "email":
            return {**base, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}
        return {**base, "text": rendered.text, "encoding": rendered.info.encoding,
                "segments": rendered.info.segments, "characters": len(rendered.text)}
