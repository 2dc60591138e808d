"""Citizen accounts and their social data."""
from __future__ import annotations

import sqlalchemy as sa

from guichet_common.pagination import Page, paginate

from ..domain.logins import looks_like_email, normalise_login
from ..domain.registration import AWAITING_ACTIVATION
from ..models import accounts, social_data


def _search_filters(query: str | None, status: str | None) -> list:
    where = []
    if status:
        where.append(accounts.c.status == status)
    if query:
        like = f"%{query.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(accounts.c.birth_name).like(like),
                            sa.func.lower(accounts.c.usage_name).like(like),
                            sa.func.lower(accounts.c.first_name).like(like),
                            accounts.c.email.like(like), accounts.c.login.like(like)))
    return where


class AccountRepository:
    def __init__(self, session):
        self.session = session

    def get(self, account_id: str):
        return self.session.execute(sa.select(accounts).where(accounts.c.id == str(account_id))).first()

    def get_one(self, account_id: str):
        return self.session.execute(sa.select(accounts).where(accounts.c.id == str(account_id))).one()

    def exists(self, account_id: str) -> bool:
        return self.session.execute(sa.select(accounts.c.id).where(accounts.c.id == str(account_id))).first() \
            is not None

    def login_taken(self, login: str) -> bool:
        return self.session.execute(sa.select(accounts.c.id).where(accounts.c.login == login)).first() is not None

    def insert(self, **values) -> None:
        self.session.execute(accounts.insert().values(**values))

    def update(self, account_id: str, **values) -> int:
        return self.session.execute(accounts.update().where(accounts.c.id == str(account_id))
                                    .values(**values)).rowcount

    def credentials(self, identifier: str):
        """(id, password_hash) of the activated account a login or an email names (the latest by email)."""
        key = identifier.strip().lower()
        query = sa.select(accounts.c.id, accounts.c.password_hash).where(
            accounts.c.password_hash.is_not(None), accounts.c.status != AWAITING_ACTIVATION)
        if looks_like_email(key):
            query = query.where(accounts.c.email == key).order_by(accounts.c.activated_at.desc())
        else:
            query = query.where(accounts.c.login == normalise_login(key))
        return self.session.execute(query).first()

    def for_recovery(self, identifier: str):
        """The activated account a login or an email names (the latest by email)."""
        key = identifier.strip().lower()
        query = sa.select(accounts).where(accounts.c.status != AWAITING_ACTIVATION)
        query = (query.where(accounts.c.email == key) if looks_like_email(key)
                 else query.where(accounts.c.login == normalise_login(key)))
        return self.session.execute(query.order_by(accounts.c.created_at.desc())).first()

    def logins_of_email(self, email: str) -> list:
        return self.session.execute(sa.select(accounts.c.id, accounts.c.login).where(
            accounts.c.email == email, accounts.c.login.is_not(None))).all()

    def search(self, query: str | None, status: str | None, *, cursor: str | None, limit: int) -> Page:
        """One page of the accounts that match, newest first (``guichet_common.pagination``)."""
        return paginate(self.session, sa.select(accounts).where(*_search_filters(query, status)),
                        order_by=[accounts.c.created_at.desc(), accounts.c.id], cursor=cursor, limit=limit)

    # --- social data ------------------------------------------------------------------------

    def social(self, account_id: str):
        return self.session.execute(sa.select(social_data).where(social_data.c.account_id == account_id)).first()

    def save_social(self, account_id: str, values: dict, now) -> None:
        exists = self.session.execute(sa.select(social_data.c.account_id)
                                      .where(social_data.c.account_id == account_id)).first()
        if exists:
            self.session.execute(social_data.update().where(social_data.c.account_id == account_id)
                                 .values(**values, updated_at=now))
        else:
            self.session.execute(social_data.insert().values(account_id=account_id, **values, updated_at=now))
