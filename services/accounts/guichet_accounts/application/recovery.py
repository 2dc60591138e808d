"""Forgotten login, forgotten password (with the town's security question) and the reset link."""
from __future__ import annotations

from guichet_common.errors import InvalidInput, TooManyRequests
from guichet_contracts import types

from .. import schemas
from ..domain import messages as msg
from ..domain.password_forms import PasswordChangeSchema
from ..domain.passwords import verify_against_nothing, verify_security_answer
from ..domain.recovery import MADE_UP_QUESTION_SECRET, can_receive_reset_link, question_shown
from ..domain.throttling import Throttle, ThrottlePolicy
from .base import UseCases, iso, subject_of

PASSWORD_RESET = "password_reset"  # the purpose of the reset links


class Recovery(UseCases):
    def forgotten_login(self, email: str) -> dict:
        """The login is sent to the email; the same answer whether an account has that email or not."""
        form = schemas.load(schemas.EmailIn(), {"email": email})
        with self.work() as (uow, repos):
            for row in repos.accounts.logins_of_email(form["email"]):
                uow.send_command(types.NOTIFICATION_REQUESTED, {
                    "template": "login_reminder", "recipient": {"account_id": row.id, "email": form["email"]},
                    "personalisation": {"username": row.login, "login_url": f"{self.settings.public_url}/connexion"},
                    "channel": "email", "security": True}, subject=subject_of(row.id))
            uow.commit()
        return {"message": msg.FORGOTTEN_LOGIN_SENT}

    def security_question(self, identifier: str) -> dict:
        """The question to answer before the reset email (towns that use it). An unknown account, or one without
        a question, gets a made-up one, always the same for the same identifier, so the answer reveals nothing
        (``domain.recovery``)."""
        if self.rules.security_question == "off":
            return {"security_question": None}
        form = schemas.load(schemas.IdentifierIn(), {"identifier": identifier})
        secret = self.context.secrets.get(MADE_UP_QUESTION_SECRET)
        with self.work() as (_, repos):
            row = repos.accounts.for_recovery(form["identifier"])
        key = question_shown(row.security_question if row is not None else None, form["identifier"], secret)
        return {"security_question": key, "security_question_label": msg.SECURITY_QUESTIONS[key]}

    def _asks_question(self, security_answer) -> bool:
        """A given answer is always checked; where the town requires the question, an answer is always needed,
        account or not, question or not (an account without one answers like an unknown login)."""
        mode = self.rules.security_question
        return mode != "off" and (security_answer is not None or mode == "required")

    def _check_answer(self, uow, repos, row, identifier: str, security_answer) -> None:
        """Throttled like a login: a wrong answer counts, an unknown account costs the same hashing."""
        throttle = Throttle(repos.throttle, ThrottlePolicy(max_failures=5), "recovery")
        subject, now = identifier.lower(), self.clock()
        decision = throttle.check(subject, now)
        if not decision.allowed:
            raise TooManyRequests(decision.message, retry_after=decision.retry_after_seconds)
        if row is None or not row.security_answer_hash:
            verify_against_nothing(security_answer or "", hasher=self.hasher)
            ok = False
        else:
            ok = verify_security_answer(row.security_answer_hash, security_answer or "", hasher=self.hasher)
        if not ok:
            throttle.record_failure(subject, now)
            uow.commit()
            raise InvalidInput(errors={"security_answer": [msg.SECURITY_ANSWER_WRONG]})
        throttle.record_success(subject, now)

    def forgotten_password(self, identifier: str, security_answer: str | None = None) -> dict:
        """The reset link by email; the same answer for an unknown login and an account that has no email (a
        town-created one, told at login instead)."""
        form = schemas.load(schemas.IdentifierIn(), {"identifier": identifier})
        with self.work() as (uow, repos):
            row = repos.accounts.for_recovery(form["identifier"])
            if self._asks_question(security_answer):
                self._check_answer(uow, repos, row, form["identifier"], security_answer)
            if can_receive_reset_link(row):
                token, expires = self.new_link(repos, row.id, PASSWORD_RESET, self.settings.reset_ttl)
                uow.send_command(types.NOTIFICATION_REQUESTED, {
                    "template": "password_reset", "recipient": {"account_id": row.id, "email": row.email},
                    "personalisation": {"reset_url": f"{self.settings.public_url}/mot-de-passe?token={token}",
                                        "expires_at": iso(expires), "username": row.login},
                    "channel": "email", "security": True}, subject=subject_of(row.id))
            uow.commit()
        return {"message": msg.FORGOTTEN_PASSWORD_SENT}

    def reset_password(self, token: str, password: str, password_confirmation: str) -> dict:
        now = self.clock()
        with self.work() as (uow, repos):
            link = self.live_link(repos, token, PASSWORD_RESET)
            account = repos.accounts.get_one(link.account_id)
            form = schemas.load(PasswordChangeSchema(login=account.login, email=account.email), {
                "current_password": "-", "new_password": password, "new_password_confirmation": password_confirmation})
            repos.accounts.update(account.id, password_hash=self.hash(form["new_password"]), updated_at=now,
                                  initial_password_expires_at=None)  # chosen by the citizen
            repos.links.mark_used(link.token_hash, now)
            repos.sessions.revoke_all(account.id, keep=None, now=now, reason="password_reset")
            uow.commit()
        return {"reset": True, "login": account.login,
                "message": "Votre mot de passe a été modifié. Vous pouvez vous connecter."}  # composed
