"""Citizens' login, the refresh-token rotation, logout, and the signing keys that sign the access tokens."""
from __future__ import annotations

import datetime as dt

from guichet_common.auth import Caller
from guichet_common.errors import TooManyRequests, Unauthenticated

from .. import schemas
from ..domain import initial_passwords
from ..domain import messages as msg
from ..domain.authentication import StoredCredentials, attempt_login, last_login_label
from ..domain.throttling import LoginThrottle
from ..domain.tokens import RefreshTokenError, RefreshTokenReused, hash_refresh_token, public_jwks
from ..exceptions import InitialPasswordExpired, LoginFailed
from .base import UseCases


def refused(result) -> Exception:
    """The error of a refused login: locked out for a while, or the one message for every other failure."""
    if result.retry_after:
        return TooManyRequests(result.message, retry_after=int(result.retry_after.total_seconds()) + 1)
    return LoginFailed()


class Sessions(UseCases):
    # --- signing keys ---------------------------------------------------------------------

    def public_keys(self) -> dict:
        return public_jwks(self.keys.ring(reload=True))

    def rotate_keys(self) -> str:
        """A new signing key; the previous ones keep verifying until retired (``retire_keys``)."""
        return self.keys.rotate()

    def retire_keys(self, grace: dt.timedelta = dt.timedelta(hours=1)) -> int:
        return self.keys.retire(grace)

    # --- login, refresh, logout -----------------------------------------------------------

    def login(self, identifier: str, password: str, ip: str | None = None) -> dict:
        self.keys.ring()  # created outside the transaction below on a fresh database
        form = schemas.load(schemas.LoginIn(), {"identifier": identifier, "password": password})
        now = self.clock()
        with self.work() as (uow, repos):
            def lookup(typed: str):
                row = repos.accounts.credentials(typed)
                return StoredCredentials(row.id, row.password_hash) if row else None

            result = attempt_login(LoginThrottle(repos.throttle), identifier=form["identifier"],
                                   password=form["password"], ip=ip, now=now, lookup=lookup, hasher=self.hasher)
            if not result.ok:
                repos.throttle.delete_expired(now)  # the records nobody came back to
                uow.commit()  # the failure counts
                raise refused(result)
            account = repos.accounts.get_one(result.account_id)
            if initial_passwords.has_expired(account.initial_password_expires_at, now):
                raise InitialPasswordExpired()  # told only to who typed the right password
            values = {"last_login_at": now, "previous_login_at": account.last_login_at}
            if result.rehash:
                values["password_hash"] = self.hash(form["password"])
            repos.accounts.update(account.id, **values)
            tokens = self.start_session(repos, subject=account.id, kind="citizen")
            uow.commit()
        answer = {**tokens, "login": account.login, "status": account.status,
                  "last_login": (last_login_label(account.last_login_at, self.settings.timezone)
                                 if account.last_login_at else None),
                  "email_required": not account.email,
                  "password_change_required": initial_passwords.must_change(account.initial_password_expires_at)}
        notices = []
        if account.initial_password_expires_at is not None:
            notices.append(initial_passwords.notice(account.initial_password_expires_at, self.settings.timezone))
        if not account.email:  # « mot de passe oublié » cannot tell it (it answers as for an unknown login)
            notices += [msg.PROVISIONED_EMAIL_MISSING, msg.LOGIN_RECOVERY_NEEDS_EMAIL]
        if notices:
            answer["notice"] = "\n".join(notices)
        return answer

    def refresh(self, refresh_token: str) -> dict:
        """Rotate the refresh token; a token already rotated ends the whole session (reuse detection)."""
        self.keys.ring()  # created outside the transaction below on a fresh database
        if not isinstance(refresh_token, str) or not refresh_token:
            raise Unauthenticated(msg.SESSION_EXPIRED)
        with self.work() as (uow, repos):
            family = repos.sessions.by_token_hash(hash_refresh_token(refresh_token))
            if family is None:
                raise Unauthenticated(msg.SESSION_EXPIRED)
            try:
                new_token = family.rotate(refresh_token, self.clock())
            except RefreshTokenReused as error:
                repos.sessions.save(family)  # the whole session is revoked
                uow.commit()
                raise Unauthenticated(error.message, slug="session-revoked") from None
            except RefreshTokenError as error:
                raise Unauthenticated(error.message) from None
            roles = self._agent_roles(repos, family.subject) if family.kind == "agent" else ()
            repos.sessions.save(family)
            repos.sessions.index(family)
            uow.commit()
        return self.tokens(family, new_token, roles)

    @staticmethod
    def _agent_roles(repos, agent_id: str) -> tuple:
        """An agent's roles as they are now; a deactivated agent's session ends."""
        agent = repos.agents.get(agent_id)
        if agent is None or not agent.active:
            raise Unauthenticated(msg.SESSION_EXPIRED)
        return tuple(agent.roles)

    def logout(self, caller: Caller, refresh_token: str | None = None) -> dict:
        """Close the session: the caller's own (``sid``), or the one the refresh token belongs to."""
        now = self.clock()
        with self.work() as (uow, repos):
            family_id = caller.session if caller.authenticated else None
            if family_id is None and refresh_token:
                family_id = repos.sessions.family_id_of(hash_refresh_token(refresh_token))
            if family_id:
                repos.sessions.revoke(family_id, subject=caller.subject if caller.authenticated else None, now=now,
                                      reason="logout")
            uow.commit()
        return {"logged_out": True}
