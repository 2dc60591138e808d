"""Shared test factories of the notifications service: the shipped templates, a renderer for a town,
the application on a SQLite file with recording clients, a contact, a requested notification."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from typing import Mapping

import sqlalchemy as sa

from guichet_common.db import Database
from guichet_notifications.adapters.email import EmailIdentity, RecordingEmailClient
from guichet_notifications.adapters.sms import RecordingSmsClient
from guichet_notifications.adapters.template_files import load_layouts, load_templates
from guichet_notifications.application import Context, Notifier
from guichet_notifications.domain.rendering import TemplateRenderer
from guichet_notifications.domain.templates import TemplateCatalog, TownBranding
from guichet_notifications.models import metadata, notification_events, notifications, outbox

TOWN = TownBranding(name="Ville de Test", phone="03 20 00 00 00")


def catalog() -> TemplateCatalog:
    """The templates shipped with the service."""
    return load_templates()


def renderer(branding: TownBranding = TOWN, **options) -> TemplateRenderer:
    """A renderer of the shipped layouts for ``branding`` (options: ``sms_transliterate``, ``sms_max_segments``)."""
    return TemplateRenderer(branding, load_layouts(), **options)


# --- the application on SQLite --------------------------------------------------------------------

ACCOUNT = "3f6b1c2e-8d4a-4b7e-9c15-2a7d0e9f4b61"
ACK = {"demande_number": "DEM-2026-000123", "procedure_name": "Inscription scolaire",
       "submitted_at": "2026-03-02T10:15:00+01:00"}
"""The personalisation of a ``demande_acknowledgement``."""
REMINDER = {"action": "sortir vos encombrants", "date": "2026-03-10T07:00:00+01:00"}
"""The personalisation of a ``reminder`` (a non-essential template)."""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime | None = None):
        self.now = now or dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@contextlib.contextmanager
def application(tmp_path, clock: Clock | None = None, **context):
    """The notifications application on a SQLite file, its templates seeded, with recording email and SMS
    clients (``context``: other :class:`Context` values, e.g. ``retry``, ``unsubscribe``, ``sms_client``)."""
    database = Database("notifications", f"sqlite:///{tmp_path / 'notifications.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    context.setdefault("email_client", RecordingEmailClient(EmailIdentity(address="ne-pas-repondre@ville.example",
                                                                          name=TOWN.name)))
    context.setdefault("sms_client", RecordingSmsClient())
    app = Notifier(Context(database=database, catalog=catalog(), renderer=renderer(), clock=clock or Clock(),
                           **context))
    app.templates.seed()
    try:
        yield app
    finally:
        database.dispose()


def message_id() -> str:
    return str(uuid.uuid4())


def contact(app: Notifier, account_id: str = ACCOUNT, **values) -> None:
    """Accounts' contact details of ``account_id`` (Jeanne Martin, by email unless ``values`` say otherwise)."""
    data = {"account_id": account_id, "email": "jeanne.martin@example.org", "phone_mobile": "06 12 34 56 78",
            "phone_personal": None, "preference": "email", "display_name": "Jeanne Martin", **values}
    assert app.intake.update_contact(message_id(), data)


def request(app: Notifier, template: str = "demande_acknowledgement", recipient: dict | None = None,
            personalisation: dict | None = None, **data) -> str:
    """A requested notification (an acknowledgement to :data:`ACCOUNT` by default); its id."""
    if personalisation is None:
        personalisation = {"demande_acknowledgement": ACK, "reminder": REMINDER}.get(template, {})
    return app.intake.request(message_id(), {"template": template, "recipient": recipient or {"account_id": ACCOUNT},
                                             "personalisation": personalisation, **data})


def notification(app: Notifier, notification_id: str) -> Mapping:
    with app.ctx.database.engine.connect() as connection:
        return connection.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                                  ).mappings().one()


def history(app: Notifier, notification_id: str) -> list[tuple]:
    """``(status, detail)`` of each line of a notification's history."""
    with app.ctx.database.engine.connect() as connection:
        return [tuple(line) for line in connection.execute(
            sa.select(notification_events.c.status, notification_events.c.detail)
            .where(notification_events.c.notification_id == notification_id).order_by(notification_events.c.id))]


def published(app: Notifier) -> list[dict]:
    """The events in the outbox, in order."""
    with app.ctx.database.engine.connect() as connection:
        return [json.loads(body) for body in connection.execute(sa.select(outbox.c.body).order_by(outbox.c.position))
                .scalars()]
