"""Town agents and the audit log of what they do."""
from __future__ import annotations

import sqlalchemy as sa

from guichet_common.pagination import Page, paginate

from ..domain.logins import normalise_login
from ..models import agents, audit_log


class AgentRepository:
    def __init__(self, session):
        self.session = session

    def insert(self, **values) -> None:
        self.session.execute(agents.insert().values(**values))

    def get(self, agent_id: str):
        return self.session.execute(sa.select(agents).where(agents.c.id == agent_id)).first()

    def by_login(self, login: str, *, active_only: bool = True):
        query = sa.select(agents).where(agents.c.login == normalise_login(login))
        if active_only:
            query = query.where(agents.c.active.is_(True))
        return self.session.execute(query).first()

    def update(self, agent_id: str, **values) -> None:
        self.session.execute(agents.update().where(agents.c.id == agent_id).values(**values))

    def audit(self, agent_id: str, action: str, target: str | None, *, at, details: dict | None = None) -> None:
        self.session.execute(audit_log.insert().values(agent_id=agent_id, action=action, target=target, at=at,
                                                       details=details))

    def audit_page(self, *, cursor: str | None, limit: int) -> Page:
        """One page of the audit log, newest first (``guichet_common.pagination``)."""
        return paginate(self.session, sa.select(audit_log), order_by=[audit_log.c.id.desc()], cursor=cursor,
                        limit=limit)
