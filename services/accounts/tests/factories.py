"""Shared test factories of the accounts service: the application on a SQLite file (no broker: the outbox
rows are the messages), a registration, a registered or active citizen, an agent with roles, a household with
children, a town-provisioned account."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from argon2 import PasswordHasher

from guichet_accounts.application import AccountsApplication
from guichet_accounts.bootstrap import AccountsSettings
from guichet_accounts.domain.registration import RegistrationRules
from guichet_accounts.models import metadata, outbox
from guichet_common import access_tokens
from guichet_common.auth import Caller
from guichet_common.db import Database
from guichet_contracts import types
from guichet_contracts.validation import validate_message

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2 parameters for tests only
PASSWORD = "Soleil2026!x"
ADMIN = Caller(kind="agent", subject="admin-1", roles=("administrator",))


class Clock:
    """A clock the test moves; it starts at real time (access tokens are checked against the wall clock)."""

    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self):
        return self.now


def application(tmp_path, clock=None, *, media=None, **rules) -> AccountsApplication:
    """The application on a fresh SQLite file; the registration rules default to the seeds' but no captcha."""
    database = Database("accounts", f"sqlite:///{tmp_path / 'accounts.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    settings = AccountsSettings(rules=RegistrationRules(**{"captcha": False, **rules}),
                                public_url="https://ville.test")
    return AccountsApplication(database, settings, hasher=FAST, clock=clock or Clock(), media=media)


def registration(**changes) -> dict:
    """A complete registration form (Pascal Dupin, seed 004), with ``changes``."""
    data = {"civility": "monsieur", "birth_name": "Dupin", "first_name": "Pascal", "birth_date": "1988-03-04",
            "birth_country": "France", "birth_commune": "LYON 02", "birth_department": "69",
            "email": "pascal.dupin@example.org", "phones": {"mobile": "0612345678"},
            "address": {"street_number": "17", "street_name": "Grand' Place", "postal_code": "59100",
                        "locality": "Roubaix"},
            "cgu_accepted": True}
    data.update(changes)
    return data


# A second citizen, the one the interface tests register over the broker.
JEANNE = {"civility": "madame", "birth_name": "Martin", "first_name": "Jeanne", "birth_date": "1985-06-01",
          "birth_commune": "Roubaix", "birth_department": "59", "email": "jeanne.martin@example.org",
          "address": {"street_number": "1", "street_name": "rue de la Paix", "postal_code": "59100",
                      "locality": "Roubaix"}}


def messages(app, type_suffix=None) -> list[dict]:
    """The messages the application queued (outbox), each checked against its contract."""
    with app.db.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).all()
    found = [json.loads(r.body) for r in rows]
    for envelope in found:
        validate_message(envelope)
    return [m for m in found if type_suffix is None or m["type"].endswith(type_suffix)]


def claims_of(app, access_token: str) -> dict:
    """The claims of an access token, verified by the shared rules with the keys the application publishes."""
    keys = access_tokens.keys_from_jwks(app.sessions.public_keys())
    return access_tokens.verify(access_token, keys.get).claims


def token_from(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def activation_link(app, account_id: str) -> str:
    command = [m for m in messages(app, "notification.requested.v1")
               if m["data"]["template"] == "account_activation"
               and m["data"]["recipient"]["account_id"] == account_id][-1]
    return command["data"]["personalisation"]["activation_url"]


def registered_citizen(app, **changes) -> str:
    """A registered account awaiting activation: its id."""
    return app.registration.register(registration(**changes))["account_id"]


def active_citizen(app, login=None, **changes) -> tuple[str, dict, Caller]:
    """A registered and activated citizen: its account id, its first session and its caller identity."""
    account_id = registered_citizen(app, **changes)
    session = app.activation.activate(token_from(activation_link(app, account_id)), login, PASSWORD, PASSWORD)
    return account_id, session, Caller(kind="citizen", subject=account_id, session=session["session_id"])


def agent(app, *roles: str, login: str = "agent.test", totp: bool = False) -> tuple[dict, Caller]:
    """An agent created as an operator would (``guichet-accounts create-agent``) and its caller identity."""
    created = app.agents.create_agent(login, "Agent", list(roles), totp=totp)
    return created, Caller(kind="agent", subject=created["agent_id"], roles=tuple(roles))


def household_with_children(app, caller: Caller) -> dict:
    """A spouse and two children (the spouse their guardian) in the caller's household: the members added."""
    spouse = app.household.add_member(caller, {"role": "conjoint", "first_name": "Marie", "birth_name": "Curie"})
    guardians = [{"relation": "mere", "member_id": spouse["member_id"]}]
    children = [app.household.add_member(caller, {"role": "enfant", "first_name": first_name,
                                                  "birth_date": birth_date, "guardians": guardians})
                for first_name, birth_date in (("Léa", "2016-05-01"), ("Eric", "2019-05-01"))]
    return {"spouse": spouse, "children": children}


def provisioned_account(app, admin: Caller = ADMIN, **data) -> dict:
    """A town-provisioned family (Saint-Joseph): active, no email; the answer with its login and password."""
    return app.provisioning.provision_account(admin, {"birth_name": "Hoarau", "first_name": "Paul", **data})


# --- over the broker (interface tests): the service process, an RPC client, AMQP spies ------

def collect(spy, count) -> list[dict]:
    """``count`` messages from an AMQP spy, each checked against its contract."""
    found = []
    for _, envelope in spy.collect(count, timeout=15):
        validate_message(envelope)
        found.append(envelope)
    assert len(found) == count, found
    return found


def signed_up_citizen(rpc, commands, login=None, **changes) -> tuple[str, dict, Caller]:
    """Jeanne Martin registered and activated through the service's RPCs (``commands``: a spy on
    notifications.commands): her account id, first session and caller identity."""
    answer = rpc.call("accounts", "register", kwargs={"registration": registration(**{**JEANNE, **changes})})
    contact, activation = collect(commands, 2)
    assert contact["type"] == types.CONTACT_UPDATED
    assert activation["data"]["template"] == "account_activation"
    token = token_from(activation["data"]["personalisation"]["activation_url"])
    session = rpc.call("accounts", "activate", kwargs={"token": token, "login": login, "password": PASSWORD,
                                                       "password_confirmation": PASSWORD})
    return answer["account_id"], session, Caller(kind="citizen", subject=answer["account_id"],
                                                 session=session["session_id"])
