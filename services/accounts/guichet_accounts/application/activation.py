"""Activation (seed 004 §2.1): the link of the registration email, a login and a password, and a first session."""
from __future__ import annotations

import sqlalchemy as sa

from guichet_common.errors import InvalidInput
from guichet_contracts import types

from .. import schemas
from ..domain import messages as msg
from ..domain.logins import normalise_login, propose_login
from ..domain.password_forms import ActivationSchema
from ..domain.registration import AWAITING_ACTIVATION, status_after_activation
from ..exceptions import TokenInvalid
from .base import UseCases, subject_of
from .registration import ACTIVATION


class Activation(UseCases):
    def activation_preview(self, token: str) -> dict:
        """What the activation page shows: the proposed login (prénom.nom) and the password policy."""
        with self.work() as (_, repos):
            link = self.live_link(repos, token, ACTIVATION)
            account = repos.accounts.get_one(link.account_id)
            suggested = propose_login(account.first_name, account.birth_name, repos.accounts.login_taken)
        return {"suggested_login": suggested, "login_notice": msg.LOGIN_DEFAULT_NOTICE,
                "password_policy": msg.PASSWORD_POLICY}

    def activate(self, token: str, login: str | None, password: str, password_confirmation: str) -> dict:
        self.keys.ring()  # created outside the transaction below on a fresh database
        now = self.clock()
        with self.work() as (uow, repos):
            link = self.live_link(repos, token, ACTIVATION)
            account = repos.accounts.get_one(link.account_id)
            if account.status != AWAITING_ACTIVATION:
                raise TokenInvalid()
            form = self._form(repos, account, login, password, password_confirmation)
            status = status_after_activation(self.rules)
            repos.accounts.update(account.id, login=form["login"], password_hash=self.hash(form["password"]),
                                  status=status, activated_at=now, updated_at=now, last_login_at=now)
            repos.links.mark_used(link.token_hash, now)
            uow.publish_event(types.ACCOUNT_ACTIVATED, {"account_id": account.id, "status": status},
                              subject=subject_of(account.id))
            tokens = self.start_session(repos, subject=account.id, kind="citizen")
            try:
                uow.commit()
            except sa.exc.IntegrityError:  # the same login chosen meanwhile by someone else
                raise InvalidInput(errors={"login": [msg.LOGIN_TAKEN]}) from None
        return {**tokens, "login": form["login"], "status": status, "last_login": None,
                "password_change_required": False}

    @staticmethod
    def _form(repos, account, login, password, password_confirmation) -> dict:
        """The activation form checked; a login already taken is reported with the form's other problems."""
        taken = repos.accounts.login_taken
        if not login:
            login = propose_login(account.first_name, account.birth_name, taken)
        typed_login = normalise_login(login) if isinstance(login, str) else login
        try:
            form = schemas.load(ActivationSchema(email=account.email), {
                "login": login, "password": password, "password_confirmation": password_confirmation})
        except InvalidInput as error:
            if isinstance(typed_login, str) and typed_login and taken(typed_login):
                error.errors.setdefault("login", []).append(msg.LOGIN_TAKEN)
            raise
        if taken(form["login"]):
            raise InvalidInput(errors={"login": [msg.LOGIN_TAKEN]})
        return form
