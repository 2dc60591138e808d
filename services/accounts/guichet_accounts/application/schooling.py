"""Schooled children (« Enfants scolarisés du foyer »): kept up to date from activities' schooling events, and
recorded by enfance agents (audited)."""
from __future__ import annotations

from guichet_common.auth import Caller
from guichet_common.errors import NotFound
from guichet_contracts import types

from .. import schemas
from .base import UseCases, subject_of

SCHOOL_KEYS = tuple(schemas.SchoolSchema().fields)  # what « Enfants scolarisés du foyer » shows per child


class Schooling(UseCases):
    def _set_school(self, uow, repos, account_id: str, member_id: str, school: dict | None) -> str | None:
        """Record a child's schooling (None: no longer schooled); the member's role, or None if the member is
        not a child of that household (removed meanwhile, or a wrong id: nothing to do)."""
        row = repos.household.member(account_id, member_id)
        if row is None or row.role != "enfant":
            return None
        if row.school != school:
            repos.household.update(row.id, school=school, updated_at=self.clock())
            uow.publish_event(types.HOUSEHOLD_MEMBER_CHANGED, {
                "account_id": row.account_id, "member_id": row.id, "role": row.role},
                subject=subject_of(row.account_id))
        return row.role

    def schooling_updated(self, message_id: str, data: dict) -> bool:
        """``activities.schooling.updated``: the school year, school, level and class shown in « Enfants
        scolarisés du foyer ». Handled once (inbox); an unknown member is ignored, not retried."""
        with self.work() as (uow, repos):
            if not uow.inbox.claim(message_id, "accounts.schooling_updated"):
                return False
            school = {key: data.get(key) for key in SCHOOL_KEYS}
            applied = self._set_school(uow, repos, data["account_id"], data["member_id"], school)
            uow.commit()
        return applied is not None

    def schooling_ended(self, message_id: str, data: dict) -> bool:
        with self.work() as (uow, repos):
            if not uow.inbox.claim(message_id, "accounts.schooling_ended"):
                return False
            applied = self._set_school(uow, repos, data["account_id"], data["member_id"], None)
            uow.commit()
        return applied is not None

    def agent_set_school(self, caller: Caller, account_id: str, member_id: str, school: dict | None) -> dict:
        """An enfance agent records (or clears, with None) a child's schooling: audited."""
        caller.require_agent("enfance")
        form = schemas.load(schemas.SchoolSchema(), school) if school is not None else None
        school_value = {key: form.get(key) for key in SCHOOL_KEYS} if form is not None else None
        with self.work() as (uow, repos):
            if self._set_school(uow, repos, account_id, member_id, school_value) is None:
                raise NotFound("Cet enfant ne fait pas partie de ce foyer.")  # composed
            self.audit(repos, caller.subject, "set_school", str(account_id), {"member_id": str(member_id)})
            uow.commit()
        return {"account_id": account_id, "member_id": member_id, "school": school_value}
