"""Town agents: their accounts and login (with a second factor), the account search and validation, the audit."""
from __future__ import annotations

from guichet_common.auth import Caller
from guichet_common.errors import Conflict, InvalidInput, NotFound
from guichet_contracts import types
from guichet_contracts.api.common import AUDIT_DEFAULT_LIMIT, DEFAULT_LIMIT

from .. import schemas
from ..domain import messages as msg
from ..domain import totp as totp_lib
from ..domain.authentication import StoredCredentials, attempt_login
from ..domain.logins import normalise_login
from ..domain.passwords import generate_password
from ..domain.registration import ACTIVE, AWAITING_VALIDATION
from ..domain.throttling import LoginThrottle
from .base import UseCases, new_id, subject_of
from .sessions import refused

AGENT_ROLES = ("administrator", "account_validator", "etat_civil", "voirie", "enfance", "regisseur")


def account_summary(row) -> dict:
    return {"account_id": row.id, "status": row.status, "account_type": row.account_type,
            "provisioned": row.provisioned, "civility": row.civility, "first_name": row.first_name,
            "birth_name": row.birth_name, "usage_name": row.usage_name, "email": row.email, "login": row.login,
            "created_at": row.created_at}


class Agents(UseCases):
    def create_agent(self, login: str, display_name: str, roles, *, password: str | None = None,
                     totp: bool = True) -> dict:
        unknown = [r for r in roles if r not in AGENT_ROLES and not r.startswith("regisseur:")]
        if unknown:
            raise ValueError(f"unknown agent roles {unknown}; known: {AGENT_ROLES}")
        password = password or generate_password()
        secret = totp_lib.generate_secret() if totp else None
        agent_id = new_id()
        with self.work() as (uow, repos):
            repos.agents.insert(id=agent_id, login=normalise_login(login), display_name=display_name,
                                password_hash=self.hash(password), totp_secret=secret, roles=list(roles),
                                active=True, created_at=self.clock())
            uow.commit()
        return {"agent_id": agent_id, "login": normalise_login(login), "password": password, "totp_secret": secret,
                "totp_uri": totp_lib.provisioning_uri(secret, login) if secret else None}

    def set_agent_password(self, login: str, password: str) -> str | None:
        """An operator replaces an agent's password (demo data); the agent's id, None if there is no such agent."""
        with self.work() as (uow, repos):
            agent = repos.agents.by_login(login, active_only=False)
            if agent is None:
                return None
            repos.agents.update(agent.id, password_hash=self.hash(password))
            uow.commit()
        return agent.id

    def agent_login(self, login: str, password: str, totp_code: str | None = None, ip: str | None = None) -> dict:
        self.keys.ring()  # created outside the transaction below on a fresh database
        form = schemas.load(schemas.LoginIn(), {"identifier": login, "password": password})
        now = self.clock()
        with self.work() as (uow, repos):
            found = {}

            def lookup(typed):
                found["row"] = row = repos.agents.by_login(typed)
                return StoredCredentials(row.id, row.password_hash) if row else None

            throttle = LoginThrottle(repos.throttle, namespace="agent")
            result = attempt_login(throttle, identifier=form["identifier"], password=form["password"], ip=ip,
                                   now=now, lookup=lookup, hasher=self.hasher)
            if not result.ok:
                uow.commit()  # the failure counts
                raise refused(result)
            agent = found["row"]
            if agent.totp_secret:
                step = self._second_factor(uow, throttle, agent, totp_code, form["identifier"], ip)
                repos.agents.update(agent.id, totp_last_step=step)
            repos.agents.update(agent.id, last_login_at=now)
            self.audit(repos, agent.id, "login", None)
            tokens = self.start_session(repos, subject=agent.id, kind="agent", roles=agent.roles)
            uow.commit()
        return {**tokens, "roles": list(agent.roles), "display_name": agent.display_name}

    def _second_factor(self, uow, throttle, agent, totp_code, identifier: str, ip) -> int:
        """The TOTP step of a valid code, never one already used; a wrong code counts as a failed login."""
        if not totp_code:
            raise InvalidInput(msg.TOTP_REQUIRED, errors={"totp_code": [msg.TOTP_REQUIRED]})
        now = self.clock()
        step = totp_lib.verify(agent.totp_secret, totp_code, now, last_used_step=agent.totp_last_step)
        if step is None:
            throttle.record_failure(identifier, ip, now)
            uow.commit()
            raise InvalidInput(msg.TOTP_INVALID, errors={"totp_code": [msg.TOTP_INVALID]})
        return step

    def agent_search(self, caller: Caller, query: str | None = None, status: str | None = None, *,
                     cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> dict:
        """One page of the citizen accounts matching ``query`` (name, email, login) and ``status``, newest
        first: ``{items, next_cursor}``. The search is audited (its status filter, not the words searched)."""
        caller.require_agent("account_validator")
        with self.work() as (uow, repos):
            page = repos.accounts.search(query, status, cursor=cursor, limit=limit)
            self.audit(repos, caller.subject, "search_accounts", None, {"status": status, "next_page": bool(cursor)})
            uow.commit()
        return page.to_dict(account_summary)

    def agent_validate(self, caller: Caller, account_id: str) -> dict:
        caller.require_agent("account_validator")
        now = self.clock()
        with self.work() as (uow, repos):
            row = repos.accounts.get(account_id)
            if row is None:
                raise NotFound()
            if row.status != AWAITING_VALIDATION:
                raise Conflict("Ce compte n'est pas en attente de validation.")  # composed
            repos.accounts.update(row.id, status=ACTIVE, validated_at=now, validated_by=caller.subject,
                                  updated_at=now)
            self.audit(repos, caller.subject, "validate_account", row.id)
            uow.publish_event(types.ACCOUNT_VALIDATED, {"account_id": row.id, "validated_by": caller.subject},
                              subject=subject_of(row.id))
            uow.send_command(types.NOTIFICATION_REQUESTED, {
                "template": "account_validated", "recipient": {"account_id": row.id}, "personalisation": {}},
                subject=subject_of(row.id))
            uow.commit()
        return {"account_id": row.id, "status": ACTIVE}

    def agent_audit(self, caller: Caller, *, cursor: str | None = None, limit: int = AUDIT_DEFAULT_LIMIT) -> dict:
        """One page of the agents' actions, newest first: ``{items, next_cursor}``."""
        caller.require_agent("administrator")
        with self.work() as (_, repos):
            page = repos.agents.audit_page(cursor=cursor, limit=limit)
        return page.to_dict(lambda row: dict(row._mapping))
