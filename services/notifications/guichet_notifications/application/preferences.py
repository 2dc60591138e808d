"""Opting out of (and back into) non-essential messages: the one-click unsubscribe link and the citizen's
own choice. Essential messages are always sent."""
from __future__ import annotations

from .. import repository
from ..domain import unsubscribe as unsubscribe_domain
from ..domain.unsubscribe import recipient_key
from ..exceptions import ExpiredUnsubscribeLink, InvalidUnsubscribeLink
from .context import Context, with_retry


class Preferences:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def unsubscribe(self, token) -> dict:
        """One-click unsubscribe: the token's recipient receives no more non-essential messages.

        Idempotent (a second click, or the mail provider's POST and the person's, change nothing
        more). Raises :class:`InvalidUnsubscribeLink` / :class:`ExpiredUnsubscribeLink`."""
        tokens = self.ctx.unsubscribe.tokens
        if tokens is None:
            raise InvalidUnsubscribeLink()
        try:
            key = tokens.verify(token, self.ctx.clock())
        except unsubscribe_domain.ExpiredUnsubscribeToken:
            raise ExpiredUnsubscribeLink() from None
        except unsubscribe_domain.InvalidUnsubscribeToken:
            raise InvalidUnsubscribeLink() from None

        def opt_out():  # two clicks at the same time insert the same row: the other one won
            with self.ctx.database.unit_of_work() as uow:
                if repository.receives_non_essential(uow.session, key):
                    repository.save_preference(uow.session, key, False, "one-click", self.ctx.clock())
                uow.commit()
        with_retry(opt_out)
        return {"unsubscribed": True, "scope": "non_essential"}

    def _non_essential_templates(self) -> list[str]:
        return [name for name in self.ctx.catalog if not self.ctx.catalog[name].essential]

    def preferences(self, account_id: str) -> dict:
        with self.ctx.database.engine.connect() as connection:
            row = repository.preference(connection, recipient_key(account_id))
        return {"non_essential": True if row is None else bool(row["non_essential"]),
                "updated_at": row["updated_at"] if row is not None else None,
                "non_essential_templates": self._non_essential_templates()}

    def set_preferences(self, account_id: str, non_essential: bool) -> dict:
        """The citizen's choice (opting back in after a one-click unsubscribe included)."""
        def save():
            with self.ctx.database.unit_of_work() as uow:
                repository.save_preference(uow.session, recipient_key(account_id), bool(non_essential), "citizen",
                                           self.ctx.clock())
                uow.commit()
        with_retry(save)
        return self.preferences(account_id)
