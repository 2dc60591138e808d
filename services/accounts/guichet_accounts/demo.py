"""Demo data for ``make run``: an administrator agent and a citizen household, created idempotently.

Passwords are generated at each run (only hashes are stored, so they cannot be
printed again): the accounts are kept, their passwords replaced, and the new
ones printed. The demo agent has NO second factor (TOTP disabled for the demo
only, so it can log in without an authenticator app); real agents get one.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from guichet_common import migrations
from guichet_common.config import load_settings
from guichet_common.db import Database, utcnow

from .domain.passwords import hash_password
from .handlers import CONTACT, EVENT, Accounts, generate_password
from .models import accounts, agents, household_members, metadata, social_data

AGENT_LOGIN = "demo.admin"
CITIZEN_LOGIN = "camille.lefebvre"
CITIZEN_ID = "00000000-0000-4000-8000-00000000c001"


def _member(account_id, member_id, role, first_name, birth_date, now, **extra):
    return dict(id=member_id, account_id=account_id, role=role, civility=extra.pop("civility", None),
                birth_name="Lefebvre", first_name=first_name, birth_date=birth_date, created_at=now,
                updated_at=now, **extra)


def load(database_url: str | None = None) -> list[str]:
    url = database_url or load_settings().database_url("accounts")
    migrations.upgrade("guichet_accounts", url)
    database = Database("accounts", url, metadata)
    try:
        app = Accounts(database)
        now = utcnow()
        agent_password, citizen_password = generate_password(), generate_password()
        with database.unit_of_work() as uow:
            s = uow.session
            if s.execute(sa.select(agents.c.id).where(agents.c.login == AGENT_LOGIN)).first():
                s.execute(agents.update().where(agents.c.login == AGENT_LOGIN)
                          .values(password_hash=hash_password(agent_password)))
            else:
                uow.session.execute(agents.insert().values(
                    id="00000000-0000-4000-8000-00000000a001", login=AGENT_LOGIN, display_name="Agent de démonstration",
                    password_hash=hash_password(agent_password), totp_secret=None, roles=["administrator"],
                    active=True, created_at=now))
            if s.execute(sa.select(accounts.c.id).where(accounts.c.id == CITIZEN_ID)).first():
                s.execute(accounts.update().where(accounts.c.id == CITIZEN_ID)
                          .values(password_hash=hash_password(citizen_password)))
            else:
                s.execute(accounts.insert().values(
                    id=CITIZEN_ID, status="active", account_type="particulier", provisioned=False,
                    civility="madame", birth_name="Lefebvre", first_name="Camille", birth_date=dt.date(1984, 2, 14),
                    birth_country="France", birth_commune="Lille", birth_department="59",
                    email="camille.lefebvre@demo.guichet.test", phone_mobile="+33612345678",
                    address={"street_number": "12", "street_name": "rue de la Mairie", "postal_code": "59000",
                             "locality": "Démonstration", "country": "France"},
                    communication_preference="email", login=CITIZEN_LOGIN,
                    password_hash=hash_password(citizen_password), created_at=now, updated_at=now,
                    cgu_accepted_at=now, activated_at=now))
                members = [
                    _member(CITIZEN_ID, "00000000-0000-4000-8000-00000000d001", "titulaire", "Camille",
                            dt.date(1984, 2, 14), now, civility="madame"),
                    _member(CITIZEN_ID, "00000000-0000-4000-8000-00000000d002", "conjoint", "Julien",
                            dt.date(1982, 7, 3), now, civility="monsieur"),
                ]
                members += [
                    _member(CITIZEN_ID, "00000000-0000-4000-8000-00000000d003", "enfant", "Léa",
                            dt.date(2016, 5, 10), now, sex="F",
                            guardians=[{"relation": "mere", "member_id": members[0]["id"]},
                                       {"relation": "pere", "member_id": members[1]["id"]}],
                            school={"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1",
                                    "class_name": "CM1 B"}),
                    _member(CITIZEN_ID, "00000000-0000-4000-8000-00000000d004", "enfant", "Hugo",
                            dt.date(2020, 11, 2), now, sex="M",
                            guardians=[{"relation": "mere", "member_id": members[0]["id"]},
                                       {"relation": "pere", "member_id": members[1]["id"]}],
                            school={"school_year": "2026-2027", "school": "École maternelle Pasteur",
                                    "level": "MS", "class_name": "MS A"}),
                ]
                s.execute(household_members.insert(), members)
                s.execute(social_data.insert().values(account_id=CITIZEN_ID, regime="général",
                                                      allocataire_name="Camille Lefebvre", caf_number="1234567",
                                                      quotient_familial=820, dependent_children=2, updated_at=now))
                uow.publish_event(EVENT.format("account.registered"), {
                    "account_id": CITIZEN_ID, "account_type": "particulier", "status": "active", "provisioned": False})
                for member in members:
                    uow.publish_event(EVENT.format("household_member.added"), {
                        "account_id": CITIZEN_ID, "member_id": member["id"], "role": member["role"]})
                uow.send_command(CONTACT, {"account_id": CITIZEN_ID, "email": "camille.lefebvre@demo.guichet.test",
                                           "phone_mobile": "+33612345678", "preference": "email",
                                           "display_name": "Camille Lefebvre"})
            uow.commit()
        app.keyring()
    finally:
        database.dispose()
    return [
        f"Demo agent (administrator, no TOTP for the demo): login {AGENT_LOGIN} password {agent_password}",
        f"Demo citizen (household of 4): login {CITIZEN_LOGIN} password {citizen_password}",
    ]
