"""The SQLAlchemy queries of the accounts service, one module per aggregate, over a unit of work's session.

Use cases open a unit of work and take ``Repositories(uow.session)``; nothing
else in the service writes SQL (models.py declares the tables).
"""
from __future__ import annotations

from .accounts import AccountRepository
from .agents import AgentRepository
from .captchas import CaptchaRepository
from .household import HouseholdRepository
from .links import LinkRepository
from .sessions import SessionRepository
from .throttle import DbThrottleStore


class Repositories:
    """Every repository of the service over one session (one unit of work)."""

    def __init__(self, session):
        self.session = session
        self.accounts = AccountRepository(session)
        self.household = HouseholdRepository(session)
        self.sessions = SessionRepository(session)
        self.links = LinkRepository(session)
        self.agents = AgentRepository(session)
        self.captchas = CaptchaRepository(session)
        self.throttle = DbThrottleStore(session)


__all__ = ["AccountRepository", "AgentRepository", "CaptchaRepository", "DbThrottleStore", "HouseholdRepository",
           "LinkRepository", "Repositories", "SessionRepository"]
