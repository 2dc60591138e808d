"""Application layer of the notifications service: one module per group of use cases, each use case one
unit of work.

* :mod:`.intake`: the commands' work (a contact's details, a notification to send);
* :mod:`.delivery`: leasing, sending, retries, SMS without a delivery report;
* :mod:`.reports`: SMS providers' delivery reports;
* :mod:`.preferences`: one-click unsubscribe and the citizen's choice;
* :mod:`.history`: a citizen's notifications; agents' search, detail and resend;
* :mod:`.templates`: seeding, listing and previewing the templates;
* :mod:`.housekeeping`: retention;
* :mod:`.background`: the delivery loop running them in the service process.

:class:`Notifier` is the application object ``bootstrap.build`` returns and the service's
``ApplicationProvider`` gives every worker (``self.app``); it starts and stops with the container.
"""
from __future__ import annotations

from .background import DeliveryLoop, LoopSettings
from .context import Context
from .delivery import Delivery
from .history import History
from .housekeeping import Housekeeping
from .intake import Intake
from .preferences import Preferences
from .reports import Reports
from .templates import Templates

__all__ = ["Context", "LoopSettings", "Notifier"]


class Notifier:
    def __init__(self, ctx: Context, loop: LoopSettings | None = None):
        self.ctx = ctx
        self.intake = Intake(ctx)
        self.delivery = Delivery(ctx)
        self.reports = Reports(ctx)
        self.preferences = Preferences(ctx)
        self.history = History(ctx)
        self.templates = Templates(ctx)
        self.housekeeping = Housekeeping(ctx)
        self.loop = DeliveryLoop(self.delivery, self.housekeeping, loop or LoopSettings())
        ctx.wake = self.loop.wake

    def start(self) -> None:
        """With the container: the templates are recorded before any message is taken."""
        self.templates.seed()

    def run(self) -> None:
        """The delivery loop (a managed thread of the container), until :meth:`stop`."""
        self.loop.run()

    def stop(self) -> None:
        self.loop.stop()
        self.ctx.email_client.close()
