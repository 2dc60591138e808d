"""The accounts process on the real broker: RPCs, outbox events on accounts.events, commands to notifications."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from guichet_common.auth import Caller
from guichet_common.rpc_client import RemoteProblem
from guichet_contracts.validation import validate_message

from .. import factories

pytestmark = pytest.mark.interface

def test_register_activate_login_with_events_and_commands(accounts_service, rpc, amqp_spy):
    events, commands = amqp_spy("accounts.events"), amqp_spy("notifications.commands")
    accounts_service()
    recap = rpc.call("accounts", "register", kwargs={"registration": factories.registration(**factories.JEANNE), "validate_only": True})
    assert recap["valid"] is True
    account_id, session, caller = factories.signed_up_citizen(rpc, commands)
    assert session["login"] == "jeanne.martin"
    registered, titulaire, activated = factories.collect(events, 3)
    assert registered["type"] == "fr.guichet.accounts.account.registered.v1"
    assert registered["data"] == {"account_id": account_id, "account_type": "particulier",
                                  "status": "pending_activation", "provisioned": False}
    assert activated["data"]["status"] == "active"
    assert rpc.call("accounts", "public_keys")["keys"][0]["crv"] == "Ed25519"
    login = rpc.call("accounts", "login", kwargs={"identifier": "jeanne.martin@example.org", "password": factories.PASSWORD,
                                                   "ip": "192.0.2.10"})
    assert login["last_login"].startswith("Dernière connexion le ")
    with pytest.raises(RemoteProblem) as refused:
        rpc.call("accounts", "login", kwargs={"identifier": "jeanne.martin", "password": "Mauvais123!"})
    with pytest.raises(RemoteProblem) as unknown:
        rpc.call("accounts", "login", kwargs={"identifier": "personne", "password": "Mauvais123!"})
    assert refused.value.problem() == unknown.value.problem()
    assert refused.value.problem()["status"] == 401
    renewed = rpc.call("accounts", "refresh", kwargs={"refresh_token": login["refresh_token"]})
    with pytest.raises(RemoteProblem):
        rpc.call("accounts", "refresh", kwargs={"refresh_token": login["refresh_token"]})
    with pytest.raises(RemoteProblem):  # reuse ended the session
        rpc.call("accounts", "refresh", kwargs={"refresh_token": renewed["refresh_token"]})

    me = rpc.call("accounts", "me", caller=caller)
    assert me["email"] == "jeanne.martin@example.org" and me["status"] == "active"
    rpc.call("accounts", "update_me", kwargs={"changes": {"phones": {"mobile": "0699887766"}}}, caller=caller)
    updated = factories.collect(events, 1)[0]
    assert updated["data"] == {"account_id": account_id, "changed": ["contact"]}
    assert factories.collect(commands, 1)[0]["data"]["phone_mobile"] == "+33699887766"


def test_a_citizen_reaches_only_their_own_household(accounts_service, rpc, amqp_spy):
    commands = amqp_spy("notifications.commands")
    accounts_service()
    _, _, alice = factories.signed_up_citizen(rpc, commands)
    _, _, bob = factories.signed_up_citizen(rpc, commands, login="bob.durand", first_name="Bob", birth_name="Durand",
                       email="bob@example.org")
    child = rpc.call("accounts", "add_member", kwargs={"member": {"role": "enfant", "first_name": "Léa"}},
                     caller=alice)
    assert child["birth_name"] == "Martin"
    assert [m["role"] for m in rpc.call("accounts", "household", caller=bob)["members"]] == ["titulaire"]
    for method, kwargs in (("update_member", {"member_id": child["member_id"], "changes": {"first_name": "X"}}),
                           ("remove_member", {"member_id": child["member_id"]})):
        with pytest.raises(RemoteProblem) as refused:
            rpc.call("accounts", method, kwargs=kwargs, caller=bob)
        assert refused.value.problem()["status"] == 404
    with pytest.raises(RemoteProblem) as anonymous:
        rpc.call("accounts", "household")
    assert anonymous.value.problem()["status"] == 401
    with pytest.raises(RemoteProblem) as agent_without_role:
        rpc.call("accounts", "agent_search", caller=Caller(kind="agent", subject="a-1", roles=("voirie",)))
    assert agent_without_role.value.problem()["status"] == 403
    with pytest.raises(RemoteProblem) as citizen_as_agent:
        rpc.call("accounts", "agent_validate", kwargs={"account_id": alice.subject}, caller=alice)
    assert citizen_as_agent.value.problem()["status"] == 403


def test_validation_by_the_town(accounts_service, rpc, amqp_spy):
    events, commands = amqp_spy("accounts.events"), amqp_spy("notifications.commands")
    accounts_service(validation_by_town=True)
    account_id, session, caller = factories.signed_up_citizen(rpc, commands)
    assert session["status"] == "awaiting_validation"
    with pytest.raises(RemoteProblem) as refused:
        rpc.call("accounts", "update_me", kwargs={"changes": {"usage_name": "Durand"}}, caller=caller)
    problem = refused.value.problem()
    assert problem["status"] == 403 and "tant que celui-ci ne sera pas validé" in problem["detail"]
    validator = Caller(kind="agent", subject="agent-1", roles=("account_validator",))
    found = rpc.call("accounts", "agent_search", kwargs={"status": "awaiting_validation"}, caller=validator)
    assert [item["account_id"] for item in found["items"]] == [account_id]
    assert rpc.call("accounts", "agent_validate", kwargs={"account_id": account_id}, caller=validator)["status"] == "active"
    factories.collect(events, 3)
    validated = factories.collect(events, 1)[0]
    assert validated["type"] == "fr.guichet.accounts.account.validated.v1"
    assert factories.collect(commands, 1)[0]["data"]["template"] == "account_validated"
    assert rpc.call("accounts", "update_me", kwargs={"changes": {"usage_name": "Durand"}},
                    caller=caller)["usage_name"] == "Durand"


def test_forgotten_password_and_reset(accounts_service, rpc, amqp_spy):
    commands = amqp_spy("notifications.commands")
    accounts_service()
    factories.signed_up_citizen(rpc, commands)
    same = rpc.call("accounts", "forgotten_password", kwargs={"identifier": "inconnu"})
    assert rpc.call("accounts", "forgotten_password", kwargs={"identifier": "jeanne.martin"}) == same
    reset = factories.collect(commands, 1)[0]["data"]
    assert reset["template"] == "password_reset" and reset["personalisation"]["username"] == "jeanne.martin"
    token = parse_qs(urlsplit(reset["personalisation"]["reset_url"]).query)["token"][0]
    new = "Lune2027!abc"
    rpc.call("accounts", "reset_password", kwargs={"token": token, "password": new, "password_confirmation": new})
    assert rpc.call("accounts", "login", kwargs={"identifier": "jeanne.martin", "password": new})["login"]


def test_writes_right_after_commits_do_not_stall_on_the_relay(accounts_service, rpc, amqp_spy):
    """Each call commits outbox rows that the relay publishes while the next call writes (SQLite lock)."""
    commands = amqp_spy("notifications.commands")
    accounts_service()
    _, _, caller = factories.signed_up_citizen(rpc, commands)
    for index in range(12):
        rpc.call("accounts", "update_me", kwargs={"changes": {"phones": {"mobile": f"06123456{index:02d}"}}},
                 caller=caller, timeout=5)
    assert len(factories.collect(commands, 12)) == 12


def test_the_running_service_purges_expired_data_on_its_timer(accounts_service):
    import datetime as dt

    import sqlalchemy as sa

    from guichet_accounts.models import captcha_challenges
    from guichet_common.testing import wait_for

    service = accounts_service(env={"GUICHET_ACCOUNTS_PURGE_INTERVAL": "0.5"})
    engine = sa.create_engine(service.env["GUICHET_ACCOUNTS_DATABASE_URL"])
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with engine.begin() as connection:
            connection.execute(captcha_challenges.insert(), [
                {"id": "expired", "text": "ABCDEF", "expires_at": now - dt.timedelta(minutes=1)},
                {"id": "live", "text": "GHJKLM", "expires_at": now + dt.timedelta(minutes=10)}])

        def remaining():
            with engine.connect() as connection:
                ids = {r[0] for r in connection.execute(sa.select(captcha_challenges.c.id))}
            return ids if ids == {"live"} else None
        assert wait_for(remaining, timeout=15, message="the purge") == {"live"}
        assert service.running
        assert '"kind": "timer"' in service.log()
    finally:
        engine.dispose()


def test_a_captcha_has_an_audio_alternative_until_it_is_answered(accounts_service, rpc):
    import base64
    import io
    import wave

    accounts_service()
    challenge = rpc.call("accounts", "new_captcha")
    assert challenge["image"].startswith("data:image/png;base64,") and challenge["audio_label"]
    audio = rpc.call("accounts", "captcha_audio", kwargs={"captcha_id": challenge["captcha_id"]}, timeout=15)
    assert audio["content_type"] == "audio/wav"
    with wave.open(io.BytesIO(base64.b64decode(audio["audio"]))) as wav:  # the voice clips shipped with the package
        assert wav.getframerate() == 8000 and wav.getnframes() > 8000
    with pytest.raises(RemoteProblem) as unknown:
        rpc.call("accounts", "captcha_audio", kwargs={"captcha_id": "nope"})
    assert unknown.value.problem()["status"] == 404
    assert unknown.value.problem()["type"] == "urn:guichet:problem:captcha-not-found"


def test_schooling_events_from_activities_reach_the_household_once(accounts_service, rpc, amqp_spy, amqp_uri):
    from guichet_common.testing import publish, wait_for
    from guichet_contracts.envelope import make_envelope

    commands = amqp_spy("notifications.commands")
    changes = amqp_spy("accounts.events", "fr.guichet.accounts.household_member.changed.v1")
    accounts_service()
    account_id, _, alice = factories.signed_up_citizen(rpc, commands)
    child = rpc.call("accounts", "add_member", kwargs={"member": {"role": "enfant", "first_name": "Eric"}},
                     caller=alice)
    type_ = "fr.guichet.activities.schooling.updated.v1"
    envelope = make_envelope(type=type_, source="activities", data={
        "account_id": account_id, "member_id": child["member_id"], "school_year": "2026-2027",
        "school": "École élémentaire Jean-Marie Brison", "level": "CP", "class_name": "CP A"})
    validate_message(envelope)
    publish(amqp_uri, "activities.events", type_, envelope)
    publish(amqp_uri, "activities.events", type_, envelope)  # delivered twice

    def school():
        members = rpc.call("accounts", "household", caller=alice)["members"]
        return next(m["school"] for m in members if m["member_id"] == child["member_id"])
    shown = wait_for(school, timeout=15, message="the schooling")
    assert (shown["school"], shown["level"], shown["class_name"]) == ("École élémentaire Jean-Marie Brison", "CP",
                                                                       "CP A")
    [changed] = factories.collect(changes, 1)
    assert changed["data"] == {"account_id": account_id, "member_id": child["member_id"], "role": "enfant"}
    assert changes.collect(1, timeout=2) == []  # the duplicate had no second effect

    from guichet_common import dlq
    bad = make_envelope(type=type_, source="activities", data={
        "account_id": account_id, "member_id": child["member_id"], "school_year": "2026", "school": "X",
        "level": "CP"})
    publish(amqp_uri, "activities.events", type_, bad)  # refused by the contract: kept, not applied
    [letter] = wait_for(lambda: dlq.list_dead_letters(amqp_uri, "accounts"), timeout=15, message="dead letter")
    assert letter["message_id"] == bad["id"] and "school_year" in letter["error"]
    assert school()["school_year"] == "2026-2027"
