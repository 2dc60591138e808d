"""Agents: login with a second factor, the account search and validation, the audit log."""

import datetime as dt

import pytest

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain import totp
from guichet_common.auth import Caller
from guichet_common.errors import Forbidden, InvalidInput
from guichet_common.pagination import BAD_CURSOR

from ... import factories


def test_awaiting_validation_cannot_modify_until_an_agent_validates(tmp_path, clock):
    app = factories.application(tmp_path, clock, validation_by_town=True)
    try:
        account_id, session, caller = factories.active_citizen(app)
        assert session["status"] == "awaiting_validation"
        with pytest.raises(Forbidden) as refused:
            app.profile.update_me(caller, {"usage_name": "Martin"})
        assert refused.value.detail == msg.ACCOUNT_NOT_VALIDATED
        agent = app.agents.create_agent("valideur", "Agent", ["account_validator"], totp=False)
        agent_caller = Caller(kind="agent", subject=agent["agent_id"], roles=("account_validator",))
        listed = app.agents.agent_search(agent_caller, status="awaiting_validation")
        assert [i["account_id"] for i in listed["items"]] == [account_id]
        with pytest.raises(Forbidden):
            app.agents.agent_validate(Caller(kind="agent", subject="x", roles=("voirie",)), account_id)
        assert app.agents.agent_validate(agent_caller, account_id)["status"] == "active"
        assert factories.messages(app, "account.validated.v1")[0]["data"]["validated_by"] == agent["agent_id"]
        assert factories.messages(app, "notification.requested.v1")[-1]["data"]["template"] == "account_validated"
        assert app.profile.update_me(caller, {"usage_name": "Martin"})["usage_name"] == "Martin"
        audit = app.agents.agent_audit(Caller(kind="agent", subject="admin", roles=("administrator",)))
        assert {"validate_account", "search_accounts"} <= {a["action"] for a in audit["items"]}
    finally:
        app.db.dispose()


def test_agent_login_needs_totp(app, clock):
    agent = app.agents.create_agent("admin", "Admin", ["administrator"])
    with pytest.raises(InvalidInput) as missing:
        app.agents.agent_login("admin", agent["password"])
    assert missing.value.errors == {"totp_code": [msg.TOTP_REQUIRED]}
    code = totp.totp(agent["totp_secret"], clock.now)
    session = app.agents.agent_login("admin", agent["password"], code)
    claims = factories.claims_of(app, session["access_token"])
    assert claims["kind"] == "agent" and claims["roles"] == ["administrator"]
    with pytest.raises(InvalidInput):  # a code is usable once
        app.agents.agent_login("admin", agent["password"], code)
    with pytest.raises(Forbidden):
        app.agents.agent_search(Caller(kind="citizen", subject="x"))


def test_the_account_search_and_the_audit_are_read_page_by_page(app, clock):
    ids = []
    for index, name in enumerate(("Alpha", "Bravo", "Charlie")):
        clock.now += dt.timedelta(minutes=1)  # newest first: Charlie, Bravo, Alpha
        ids.append(app.provisioning.provision_account(factories.ADMIN, {
            "birth_name": "Martin", "first_name": name, "login": f"{name.lower()}.martin{index}"})["account_id"])
    validator = Caller(kind="agent", subject="ag-1", roles=("account_validator",))
    first = app.agents.agent_search(validator, query="martin", limit=2)
    assert [item["account_id"] for item in first["items"]] == ids[:0:-1] and first["next_cursor"]
    second = app.agents.agent_search(validator, query="martin", cursor=first["next_cursor"], limit=2)
    assert [item["account_id"] for item in second["items"]] == ids[:1] and second["next_cursor"] is None
    with pytest.raises(InvalidInput) as forged:
        app.agents.agent_search(validator, cursor="bm90IGEgY3Vyc29y", limit=2)
    assert forged.value.errors == {"cursor": [BAD_CURSOR]}

    audit = app.agents.agent_audit(factories.ADMIN, limit=4)
    rest = app.agents.agent_audit(factories.ADMIN, cursor=audit["next_cursor"], limit=4)
    entries = audit["items"] + rest["items"]
    assert rest["next_cursor"] is None and len(entries) == 5  # three provisions, two searches (not the refused one)
    assert [entry["id"] for entry in entries] == sorted((entry["id"] for entry in entries), reverse=True)
    with pytest.raises(InvalidInput) as forged:
        app.agents.agent_audit(factories.ADMIN, cursor="W10", limit=4)
    assert forged.value.errors == {"cursor": [BAD_CURSOR]}
