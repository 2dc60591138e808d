"""What every use case shares: its context (database, town settings, adapters, clock) and the helpers used
by more than one use-case module (sessions, links, contact details, audit)."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher

from guichet_common.auth import Caller
from guichet_common.db import Database, UnitOfWork
from guichet_common.errors import NotFound
from guichet_contracts import types

from ..adapters.captcha_media import CaptchaMedia
from ..adapters.keys import KeyStore
from ..adapters.secrets import ServiceSecrets
from ..domain.passwords import hash_password
from ..domain.tokens import RefreshTokenFamily, issue_access_token
from ..exceptions import TokenInvalid
from ..repository import Repositories

if TYPE_CHECKING:
    from ..bootstrap import AccountsSettings


def new_id() -> str:
    return str(uuid.uuid4())


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def subject_of(account_id: str) -> str:
    """The CloudEvents subject of every message about an account."""
    return f"account/{account_id}"


def display_name(row) -> str | None:
    name = " ".join(p for p in (row.first_name, row.usage_name or row.birth_name) if p)
    return name[:200] or None


@dataclass(frozen=True)
class Context:
    """The database, the town's settings and the adapters, built once by bootstrap."""

    db: Database
    settings: AccountsSettings
    hasher: PasswordHasher | None
    clock: Callable[[], dt.datetime]
    keys: KeyStore
    media: CaptchaMedia
    secrets: ServiceSecrets


class UseCases:
    """Base of each use-case group: one unit of work per call, the domain decides, the outbox tells."""

    def __init__(self, context: Context):
        self.context = context
        self.db = context.db
        self.settings = context.settings
        self.hasher = context.hasher
        self.clock = context.clock
        self.keys = context.keys

    @property
    def rules(self):
        return self.settings.rules

    @contextlib.contextmanager
    def work(self) -> Iterator[tuple[UnitOfWork, Repositories]]:
        """A unit of work and the repositories over its session."""
        with self.db.unit_of_work() as uow:
            yield uow, Repositories(uow.session)

    def hash(self, password: str) -> str:
        return hash_password(password, hasher=self.hasher)

    # --- sessions (activation, login, agents' login, refresh) -----------------------------

    def start_session(self, repos: Repositories, *, subject: str, kind: str, roles=()) -> dict:
        family, refresh_token = RefreshTokenFamily.start(subject=subject, kind=kind, now=self.clock())
        repos.sessions.add(family)
        return self.tokens(family, refresh_token, roles)

    def tokens(self, family: RefreshTokenFamily, refresh_token: str, roles=()) -> dict:
        ttl = self.settings.access_token_ttl
        access = issue_access_token(self.keys.ring(), subject=family.subject, kind=family.kind, roles=roles,
                                    session_id=family.family_id, ttl=ttl, now=self.clock())
        return {"access_token": access, "token_type": "Bearer", "expires_in": int(ttl.total_seconds()),
                "refresh_token": refresh_token, "session_id": family.family_id}

    # --- one-time links (activation, password reset) --------------------------------------

    def new_link(self, repos: Repositories, account_id: str, purpose: str,
                 ttl: dt.timedelta) -> tuple[str, dt.datetime]:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        repos.links.replace(token_hash=digest(token), account_id=account_id, purpose=purpose, now=now,
                            expires_at=now + ttl)
        return token, now + ttl

    def live_link(self, repos: Repositories, token: Any, purpose: str):
        if not isinstance(token, str) or not token:
            raise TokenInvalid()
        row = repos.links.find(digest(token), purpose)
        if row is None or row.used_at is not None or row.expires_at <= self.clock():
            raise TokenInvalid()
        return row

    # --- accounts -------------------------------------------------------------------------

    @staticmethod
    def citizen_account(repos: Repositories, caller: Caller):
        """The caller's own account (citizens only)."""
        caller.require_citizen()
        row = repos.accounts.get(caller.subject)
        if row is None:
            raise NotFound()
        return row

    @staticmethod
    def send_contact(uow: UnitOfWork, repos: Repositories, account_id: str) -> None:
        """Notifications keeps its own copy of how to reach the citizen."""
        row = repos.accounts.get_one(account_id)
        uow.send_command(types.CONTACT_UPDATED, {
            "account_id": account_id, "email": row.email, "phone_mobile": row.phone_mobile,
            "phone_personal": row.phone_personal or row.phone_office, "preference": row.communication_preference,
            "display_name": display_name(row)}, subject=subject_of(account_id))

    def add_titulaire(self, repos: Repositories, account_id: str, form: dict, now: dt.datetime) -> str:
        """The account holder's own line of the household."""
        member_id = new_id()
        repos.household.insert(id=member_id, account_id=account_id, role="titulaire", civility=form.get("civility"),
                               birth_name=form.get("birth_name"), usage_name=form.get("usage_name"),
                               first_name=form.get("first_name") or "", birth_date=form.get("birth_date"),
                               created_at=now, updated_at=now)
        return member_id

    def audit(self, repos: Repositories, agent_id: str, action: str, target: str | None,
              details: dict | None = None) -> None:
        repos.agents.audit(agent_id, action, target, at=self.clock(), details=details)
