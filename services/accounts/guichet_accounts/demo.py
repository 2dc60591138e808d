"""Demo data for ``make run``: an administrator agent and a citizen household, created idempotently through
the service's own use cases.

Passwords are generated at each run (only hashes are stored, so they cannot be
printed again): the accounts are kept, their passwords replaced, and the new
ones printed. The demo agent has NO second factor (TOTP disabled for the demo
only, so it can log in without an authenticator app); real agents get one. The
household is a town-provisioned family (created by the demo agent, as
Saint-Joseph does) that replaced its initial password by its own, completed
its profile and added its members.
"""
from __future__ import annotations

from guichet_common import migrations
from guichet_common.auth import Caller
from guichet_common.config import load_settings
from guichet_common.db import Database

from . import bootstrap
from .application import AccountsApplication
from .domain.passwords import generate_password
from .models import metadata

AGENT_LOGIN = "demo.admin"
CITIZEN_LOGIN = "camille.lefebvre"

CITIZEN = {"civility": "madame", "birth_name": "Lefebvre", "first_name": "Camille", "birth_date": "1984-02-14"}
PROFILE = {
    "birth_country": "France", "birth_commune": "Lille", "birth_department": "59",
    "email": "camille.lefebvre@demo.guichet.test", "phones": {"mobile": "0612345678"},
    "address": {"street_number": "12", "street_name": "rue de la Mairie", "postal_code": "59000",
                "locality": "Démonstration", "country": "France"},
    "communication_preference": "email",
    "social": {"regime": "général", "allocataire_name": "Camille Lefebvre", "caf_number": "1234567",
               "quotient_familial": 820, "dependent_children": 2},
}
SPOUSE = {"role": "conjoint", "civility": "monsieur", "first_name": "Julien", "birth_date": "1982-07-03"}
CHILDREN = [
    {"role": "enfant", "first_name": "Léa", "birth_date": "2016-05-10", "sex": "F"},
    {"role": "enfant", "first_name": "Hugo", "birth_date": "2020-11-02", "sex": "M"},
]
# Recorded by the town (the enfance agents' audited route), not by the family.
SCHOOLING = [
    {"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1", "class_name": "CM1 B"},
    {"school_year": "2026-2027", "school": "École maternelle Pasteur", "level": "MS", "class_name": "MS A"},
]


def _agent(app: AccountsApplication, password: str) -> Caller:
    agent_id = app.agents.set_agent_password(AGENT_LOGIN, password)
    if agent_id is None:
        agent_id = app.agents.create_agent(AGENT_LOGIN, "Agent de démonstration", ["administrator"],
                                           password=password, totp=False)["agent_id"]
    return Caller(kind="agent", subject=agent_id, roles=("administrator",))


def _own_password(app: AccountsApplication, account_id: str, initial: str, password: str) -> Caller:
    """The family replaces the town's provisional password by its own, as its first login asks."""
    citizen = Caller(kind="citizen", subject=account_id)
    app.profile.change_password(citizen, initial, password, password)
    return citizen


def _household(app: AccountsApplication, agent: Caller, password: str) -> None:
    initial = generate_password()
    created = app.provisioning.provision_account(agent, {**CITIZEN, "login": CITIZEN_LOGIN, "password": initial})
    citizen = _own_password(app, created["account_id"], initial, password)
    app.profile.update_me(citizen, PROFILE)
    [titulaire] = app.household.household(citizen)["members"]
    spouse = app.household.add_member(citizen, SPOUSE)
    guardians = [{"relation": "mere", "member_id": titulaire["member_id"]},
                 {"relation": "pere", "member_id": spouse["member_id"]}]
    for child, schooling in zip(CHILDREN, SCHOOLING, strict=True):
        added = app.household.add_member(citizen, {**child, "guardians": guardians})
        app.schooling.agent_set_school(agent, created["account_id"], added["member_id"], schooling)


def load(database_url: str | None = None) -> list[str]:
    url = database_url or load_settings().database_url("accounts")
    migrations.upgrade("guichet_accounts", url)
    database = Database("accounts", url, metadata)
    try:
        app = bootstrap.for_operator(database)
        agent_password, citizen_password = generate_password(), generate_password()
        agent = _agent(app, agent_password)
        found = app.agents.agent_search(agent, query=CITIZEN_LOGIN)["items"]
        existing = [item for item in found if item["login"] == CITIZEN_LOGIN]
        if existing:
            initial = generate_password()
            app.provisioning.reissue_password(agent, existing[0]["account_id"], initial)
            _own_password(app, existing[0]["account_id"], initial, citizen_password)
        else:
            _household(app, agent, citizen_password)
    finally:
        database.dispose()
    return [
        f"Demo agent (administrator, no TOTP for the demo): login {AGENT_LOGIN} password {agent_password}",
        f"Demo citizen (household of 4): login {CITIZEN_LOGIN} password {citizen_password}",
    ]
