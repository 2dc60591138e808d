"""« Mon foyer »: the members of the citizen's household (the titulaire is the account itself)."""
from __future__ import annotations

from guichet_common.auth import Caller
from guichet_common.errors import Conflict, InvalidInput, NotFound
from guichet_contracts import types

from .. import schemas
from ..domain.initial_passwords import ensure_password_chosen
from ..domain.registration import ensure_can_modify_account
from .base import UseCases, new_id, subject_of

MEMBER_FIELDS = ("role", "relation", "civility", "birth_name", "usage_name", "first_name", "birth_date", "sex",
                 "guardians", "school")
ROLE_ORDER = {role: i for i, role in enumerate(schemas.MEMBER_ROLES)}


def member(row) -> dict:
    return {"member_id": row.id, **{f: getattr(row, f) for f in MEMBER_FIELDS}}


def _check_guardians(repos, account_id: str, guardians) -> None:
    """A guardian named by member id is a member of the same household."""
    for index, guardian in enumerate(guardians or []):
        if guardian.get("member_id") and repos.household.member(account_id, guardian["member_id"]) is None:
            raise InvalidInput(errors={"guardians": {str(index): {"member_id": [schemas.GUARDIAN_UNKNOWN_MEMBER]}}})


class Household(UseCases):
    def household(self, caller: Caller) -> dict:
        with self.work() as (_, repos):
            account = self.citizen_account(repos, caller)
            rows = repos.household.members(account.id)
        return {"members": sorted((member(r) for r in rows), key=lambda m: ROLE_ORDER[m["role"]]),
                "family_file_ref": account.family_file_ref}

    def add_member(self, caller: Caller, data: dict) -> dict:
        now = self.clock()
        with self.work() as (uow, repos):
            account = self.citizen_account(repos, caller)
            ensure_can_modify_account(account.status)
            ensure_password_chosen(account.initial_password_expires_at)
            form = schemas.load(schemas.MemberSchema(), data)
            if not form.get("birth_name"):  # « adding a member pre-fills the family name »
                form["birth_name"] = account.usage_name or account.birth_name
            _check_guardians(repos, account.id, form.get("guardians"))
            member_id = new_id()
            repos.household.insert(id=member_id, account_id=account.id, created_at=now, updated_at=now, **form)
            uow.publish_event(types.HOUSEHOLD_MEMBER_ADDED, {
                "account_id": account.id, "member_id": member_id, "role": form["role"]},
                subject=subject_of(account.id))
            uow.commit()
            return member(repos.household.get_one(member_id))

    def _editable_member(self, repos, caller: Caller, member_id: str, titulaire_refusal: str):
        """The caller's account (which must be modifiable) and one of its members other than the titulaire."""
        account = self.citizen_account(repos, caller)
        ensure_can_modify_account(account.status)
        ensure_password_chosen(account.initial_password_expires_at)
        row = repos.household.member(account.id, member_id)
        if row is None:
            raise NotFound("Ce membre ne fait pas partie de votre foyer.")  # composed
        if row.role == "titulaire":
            raise Conflict(titulaire_refusal)
        return account, row

    def update_member(self, caller: Caller, member_id: str, changes: dict) -> dict:
        now = self.clock()
        with self.work() as (uow, repos):
            account, row = self._editable_member(repos, caller, member_id, schemas.TITULAIRE_FROM_PROFILE)
            form = schemas.load(schemas.MemberSchema(), changes, partial=True)
            if form.get("guardians") and form.get("role", row.role) != "enfant":
                raise InvalidInput(errors={"guardians": [schemas.GUARDIANS_ONLY_CHILDREN]})
            _check_guardians(repos, account.id, form.get("guardians"))
            if form:
                repos.household.update(row.id, **form, updated_at=now)
                uow.publish_event(types.HOUSEHOLD_MEMBER_CHANGED, {
                    "account_id": account.id, "member_id": row.id, "role": form.get("role", row.role)},
                    subject=subject_of(account.id))
            uow.commit()
            return member(repos.household.get_one(row.id))

    def remove_member(self, caller: Caller, member_id: str) -> dict:
        with self.work() as (uow, repos):
            account, row = self._editable_member(repos, caller, member_id, schemas.TITULAIRE_FIXED)
            repos.household.delete(row.id)
            uow.publish_event(types.HOUSEHOLD_MEMBER_REMOVED, {
                "account_id": account.id, "member_id": row.id, "role": row.role}, subject=subject_of(account.id))
            uow.commit()
        return {"removed": True, "member_id": row.id}
