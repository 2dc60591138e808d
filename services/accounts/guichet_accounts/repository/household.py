"""Household members (« Mon foyer »); the titulaire is the account holder's own line."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import household_members


class HouseholdRepository:
    def __init__(self, session):
        self.session = session

    def members(self, account_id: str) -> list:
        return self.session.execute(sa.select(household_members).where(
            household_members.c.account_id == account_id).order_by(household_members.c.created_at,
                                                                    household_members.c.id)).all()

    def member(self, account_id: str, member_id: str):
        """One member of that household, or None (another household's member looks unknown)."""
        return self.session.execute(sa.select(household_members).where(
            household_members.c.id == str(member_id), household_members.c.account_id == str(account_id))).first()

    def get_one(self, member_id: str):
        return self.session.execute(sa.select(household_members).where(household_members.c.id == member_id)).one()

    def insert(self, **values) -> None:
        self.session.execute(household_members.insert().values(**values))

    def update(self, member_id: str, **values) -> None:
        self.session.execute(household_members.update().where(household_members.c.id == member_id).values(**values))

    def delete(self, member_id: str) -> None:
        self.session.execute(household_members.delete().where(household_members.c.id == member_id))

    def update_titulaire(self, account_id: str, **values) -> None:
        self.session.execute(household_members.update().where(household_members.c.account_id == account_id,
                                                              household_members.c.role == "titulaire")
                             .values(**values))
