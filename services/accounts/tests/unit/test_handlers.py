"""The application layer on a SQLite database (metadata.create_all), no broker: outbox rows are the messages."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from guichet_accounts import handlers
from guichet_accounts.domain import messages as msg
from guichet_accounts.domain import totp
from guichet_accounts.domain.authentication import last_login_label
from guichet_accounts.domain.registration import RegistrationRules
from guichet_accounts.domain.tokens import verify_access_token
from guichet_accounts.handlers import Accounts, AccountsSettings, LoginFailed
from guichet_accounts.models import metadata, outbox
from guichet_common.auth import Caller
from guichet_common.db import Database
from guichet_common.errors import (
    Conflict,
    Forbidden,
    GuichetError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from guichet_contracts.validation import validate_message

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "Soleil2026!x"


def registration(**changes):
    data = {"civility": "monsieur", "birth_name": "Dupin", "first_name": "Pascal", "birth_date": "1988-03-04",
            "birth_country": "France", "birth_commune": "LYON 02", "birth_department": "69",
            "email": "pascal.dupin@example.org", "phones": {"mobile": "0612345678"},
            "address": {"street_number": "17", "street_name": "Grand' Place", "postal_code": "59100",
                        "locality": "Roubaix"},
            "cgu_accepted": True}
    data.update(changes)
    return data


class Clock:
    def __init__(self):
        # Real time (access tokens are verified against the wall clock), whole seconds.
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def make_app(tmp_path, clock, **rules):
    database = Database("accounts", f"sqlite:///{tmp_path / 'accounts.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    settings = AccountsSettings(rules=RegistrationRules(captcha=False, **rules), public_url="https://ville.test")
    return Accounts(database, settings, hasher=FAST, clock=clock)


@pytest.fixture
def app(tmp_path, clock):
    application = make_app(tmp_path, clock)
    yield application
    application.db.dispose()
    handlers._keyrings.clear()


def messages(app, type_suffix=None):
    with app.db.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).all()
    found = [json.loads(r.body) for r in rows]
    for envelope in found:
        validate_message(envelope)
    return [m for m in found if type_suffix is None or m["type"].endswith(type_suffix)]


def token_from(url):
    return parse_qs(urlsplit(url).query)["token"][0]


def register_and_activate(app, login=None, **changes):
    account_id = app.register(registration(**changes))["account_id"]
    command = [m for m in messages(app, "notification.requested.v1")
               if m["data"]["template"] == "account_activation" and m["data"]["recipient"]["account_id"] == account_id][-1]
    session = app.activate(token_from(command["data"]["personalisation"]["activation_url"]), login, PASSWORD, PASSWORD)
    caller = Caller(kind="citizen", subject=account_id, session=session["session_id"])
    return account_id, session, caller


def test_registration_recap_saves_nothing(app):
    answer = app.register(registration(), validate_only=True)
    assert answer["valid"] is True and answer["recap"]["email"] == "pascal.dupin@example.org"
    assert messages(app) == []


def test_registration_refuses_bad_input_with_french_field_messages(app):
    with pytest.raises(InvalidInput) as error:
        app.register(registration(email="nope", cgu_accepted=False))
    assert error.value.errors["email"] == [msg.EMAIL_INVALID]
    assert msg.CGU_REQUIRED in error.value.errors["cgu_accepted"]


def test_register_sends_contact_and_activation_then_activation_logs_in(app, clock):
    account_id = app.register(registration())["account_id"]
    types = [m["type"] for m in messages(app)]
    assert types == ["fr.guichet.accounts.account.registered.v1", "fr.guichet.accounts.household_member.added.v1",
                     "fr.guichet.notifications.contact.updated.v1",
                     "fr.guichet.notifications.notification.requested.v1"]
    for event in messages(app, "registered.v1"):
        assert "email" not in json.dumps(event["data"])
    contact = messages(app, "contact.updated.v1")[0]["data"]
    assert contact["email"] == "pascal.dupin@example.org" and contact["phone_mobile"] == "+33612345678"
    activation = messages(app, "notification.requested.v1")[0]["data"]
    assert activation["security"] is True
    personalisation = activation["personalisation"]
    assert personalisation["suggested_username"] == "pascal.dupin"
    assert personalisation["activation_url"].startswith("https://ville.test/activation?token=")
    expected = (clock.now + dt.timedelta(hours=48)).isoformat().replace("+00:00", "Z")
    assert personalisation["expires_at"] == expected
    token = token_from(personalisation["activation_url"])
    assert app.activation_preview(token)["suggested_login"] == "pascal.dupin"
    session = app.activate(token, None, PASSWORD, PASSWORD)
    assert session["login"] == "pascal.dupin" and session["status"] == "active"
    claims = verify_access_token(session["access_token"], app.public_keys())
    assert claims["sub"] == account_id and claims["kind"] == "citizen"
    with pytest.raises(GuichetError) as error:  # single use
        app.activate(token, None, PASSWORD, PASSWORD)
    assert error.value.slug == "invalid-link"


def test_activation_link_expires(app, clock):
    app.register(registration())
    url = messages(app, "notification.requested.v1")[0]["data"]["personalisation"]["activation_url"]
    clock.now += dt.timedelta(hours=49)
    with pytest.raises(GuichetError, match="expiré"):
        app.activate(token_from(url), None, PASSWORD, PASSWORD)


def test_activation_checks_the_password_policy_and_proposes_unique_logins(app):
    register_and_activate(app)
    app.register(registration(email="autre@example.org"))
    url = messages(app, "notification.requested.v1")[-1]["data"]["personalisation"]
    assert url["suggested_username"] == "pascal.dupin2"
    with pytest.raises(InvalidInput) as error:
        app.activate(token_from(url["activation_url"]), "pascal.dupin", "abc", "abd")
    assert error.value.errors["login"] == [msg.LOGIN_TAKEN]
    assert msg.PASSWORD_TOO_SHORT in error.value.errors["password"]
    assert error.value.errors["password_confirmation"] == [msg.PASSWORD_CONFIRMATION_MISMATCH]


def test_login_by_login_or_email_same_error_for_unknown_and_throttled(app, clock):
    register_and_activate(app)
    first = app.login("pascal.dupin", PASSWORD, "192.0.2.1")
    assert first["last_login"] == last_login_label(clock.now)  # activation logged in
    assert first["last_login"].startswith("Dernière connexion le ")
    assert app.login("Pascal.Dupin@Example.org", PASSWORD)["login"] == "pascal.dupin"
    with pytest.raises(LoginFailed) as known:
        app.login("pascal.dupin", "Wrong1234!", "192.0.2.1")
    with pytest.raises(LoginFailed) as unknown:
        app.login("nobody.here", "Wrong1234!", "192.0.2.1")
    assert known.value.problem() == unknown.value.problem()
    for _ in range(4):
        with pytest.raises((LoginFailed, TooManyRequests)):
            app.login("nobody.else", "Wrong1234!", "192.0.2.2")
    with pytest.raises(TooManyRequests) as locked:
        app.login("nobody.else", "Wrong1234!", "192.0.2.2")
    assert "Trop de tentatives" in locked.value.detail


def test_refresh_rotates_and_reuse_ends_the_session(app):
    _, session, _ = register_and_activate(app)
    renewed = app.refresh(session["refresh_token"])
    assert renewed["refresh_token"] != session["refresh_token"]
    with pytest.raises(Unauthenticated) as reused:
        app.refresh(session["refresh_token"])
    assert reused.value.slug == "session-revoked"
    with pytest.raises(Unauthenticated):
        app.refresh(renewed["refresh_token"])


def test_logout_ends_the_session(app):
    _, session, caller = register_and_activate(app)
    app.logout(caller)
    with pytest.raises(Unauthenticated):
        app.refresh(session["refresh_token"])


def test_profile_update_sends_event_without_values_and_contact_command(app):
    account_id, _, caller = register_and_activate(app)
    profile = app.me(caller)
    assert profile["email"] == "pascal.dupin@example.org" and profile["login"] == "pascal.dupin"
    updated = app.update_me(caller, {"phones": {"mobile": "0699887766"}, "communication_preference": "sms",
                                     "social": {"quotient_familial": 650, "caf_number": "1234567"}})
    assert updated["phones"] == {"mobile": "+33699887766"} and updated["social"]["quotient_familial"] == 650
    event = messages(app, "account.updated.v1")[-1]["data"]
    assert sorted(event["changed"]) == ["contact", "social"]
    assert messages(app, "contact.updated.v1")[-1]["data"]["preference"] == "sms"
    with pytest.raises(InvalidInput) as error:
        app.update_me(caller, {"email": "pas-un-email"})
    assert error.value.errors == {"email": [msg.EMAIL_INVALID]}


def test_awaiting_validation_cannot_modify_until_an_agent_validates(tmp_path, clock):
    app = make_app(tmp_path, clock, validation_by_town=True)
    try:
        account_id, session, caller = register_and_activate(app)
        assert session["status"] == "awaiting_validation"
        with pytest.raises(Forbidden) as refused:
            app.update_me(caller, {"usage_name": "Martin"})
        assert refused.value.detail == msg.ACCOUNT_NOT_VALIDATED
        agent = app.create_agent("valideur", "Agent", ["account_validator"], totp=False)
        agent_caller = Caller(kind="agent", subject=agent["agent_id"], roles=("account_validator",))
        listed = app.agent_search(agent_caller, status="awaiting_validation")
        assert [i["account_id"] for i in listed["items"]] == [account_id]
        with pytest.raises(Forbidden):
            app.agent_validate(Caller(kind="agent", subject="x", roles=("voirie",)), account_id)
        assert app.agent_validate(agent_caller, account_id)["status"] == "active"
        assert messages(app, "account.validated.v1")[0]["data"]["validated_by"] == agent["agent_id"]
        assert messages(app, "notification.requested.v1")[-1]["data"]["template"] == "account_validated"
        assert app.update_me(caller, {"usage_name": "Martin"})["usage_name"] == "Martin"
        audit = app.agent_audit(Caller(kind="agent", subject="admin", roles=("administrator",)))
        assert {"validate_account", "search_accounts"} <= {a["action"] for a in audit}
    finally:
        app.db.dispose()
        handlers._keyrings.clear()


def test_household_members_prefill_family_name_and_stay_private(app):
    account_id, _, alice = register_and_activate(app)
    other_id, _, bob = register_and_activate(app, login="bob.martin", first_name="Bob", birth_name="Martin",
                                             email="bob@example.org")
    spouse = app.add_member(alice, {"role": "conjoint", "first_name": "Marie", "birth_name": "Curie"})
    child = app.add_member(alice, {"role": "enfant", "first_name": "Léa", "birth_date": "2016-05-01",
                                   "guardians": [{"relation": "mere", "member_id": spouse["member_id"]}],
                                   "school": {"school_year": "2026-2027", "school": "École Jules Ferry",
                                              "level": "CM1", "class_name": "CM1 B"}})
    assert child["birth_name"] == "Dupin"
    roles = [m["role"] for m in app.household(alice)["members"]]
    assert roles == ["titulaire", "conjoint", "enfant"]
    assert [m["role"] for m in app.household(bob)["members"]] == ["titulaire"]
    with pytest.raises(NotFound):
        app.update_member(bob, child["member_id"], {"first_name": "Zoé"})
    with pytest.raises(NotFound):
        app.remove_member(bob, child["member_id"])
    with pytest.raises(InvalidInput):
        app.add_member(bob, {"role": "enfant", "first_name": "Tom",
                             "guardians": [{"relation": "pere", "member_id": spouse["member_id"]}]})
    assert app.update_member(alice, child["member_id"], {"first_name": "Zoé"})["first_name"] == "Zoé"
    titulaire = app.household(alice)["members"][0]
    with pytest.raises(Conflict):
        app.remove_member(alice, titulaire["member_id"])
    app.remove_member(alice, spouse["member_id"])
    kinds = [".".join(m["type"].split(".")[3:5]) for m in messages(app, "v1") if "household_member" in m["type"]]
    assert kinds.count("household_member.removed") == 1
    with pytest.raises(Forbidden):
        app.household(Caller(kind="agent", subject=account_id))


def test_forgotten_login_and_password_same_answer_and_reset(app):
    account_id, session, caller = register_and_activate(app)
    before = len(messages(app))
    assert app.forgotten_login("inconnu@example.org") == app.forgotten_login("pascal.dupin@example.org")
    assert app.forgotten_password("inconnu") == app.forgotten_password("pascal.dupin")
    sent = messages(app)[before:]
    assert [m["data"]["template"] for m in sent] == ["login_reminder", "password_reset"]
    assert sent[0]["data"]["personalisation"]["username"] == "pascal.dupin"
    reset_url = sent[1]["data"]["personalisation"]["reset_url"]
    new = "Lune2027!abc"
    assert app.reset_password(token_from(reset_url), new, new)["login"] == "pascal.dupin"
    with pytest.raises(Unauthenticated):  # every session ended
        app.refresh(session["refresh_token"])
    with pytest.raises(LoginFailed):
        app.login("pascal.dupin", PASSWORD)
    assert app.login("pascal.dupin", new)["login"] == "pascal.dupin"


def test_security_question_gates_the_reset(tmp_path, clock):
    app = make_app(tmp_path, clock, security_question="required")
    try:
        register_and_activate(app, security_question="first_pet", security_answer="Médor")
        assert app.security_question("pascal.dupin")["security_question"] == "first_pet"
        assert app.security_question("nobody")["security_question"] == app.security_question("nobody")[
            "security_question"]
        with pytest.raises(InvalidInput):
            app.forgotten_password("pascal.dupin", "Rex")
        with pytest.raises(InvalidInput):
            app.forgotten_password("nobody", "Rex")
        app.forgotten_password("pascal.dupin", "medor")
        assert messages(app, "notification.requested.v1")[-1]["data"]["template"] == "password_reset"
    finally:
        app.db.dispose()
        handlers._keyrings.clear()


def test_change_password_ends_the_other_sessions(app):
    _, first, caller = register_and_activate(app)
    second = app.login("pascal.dupin", PASSWORD)
    current = Caller(kind="citizen", subject=caller.subject, session=second["session_id"])
    with pytest.raises(InvalidInput) as wrong:
        app.change_password(current, "Wrong1234!", "Lune2027!abc", "Lune2027!abc")
    assert wrong.value.errors == {"current_password": [msg.PASSWORD_CURRENT_WRONG]}
    assert app.change_password(current, PASSWORD, "Lune2027!abc", "Lune2027!abc")["sessions_ended"] == 1
    with pytest.raises(Unauthenticated):
        app.refresh(first["refresh_token"])
    assert app.refresh(second["refresh_token"])["access_token"]


def test_agent_login_needs_totp(app, clock):
    agent = app.create_agent("admin", "Admin", ["administrator"])
    with pytest.raises(InvalidInput) as missing:
        app.agent_login("admin", agent["password"])
    assert missing.value.errors == {"totp_code": [msg.TOTP_REQUIRED]}
    code = totp.totp(agent["totp_secret"], clock.now)
    session = app.agent_login("admin", agent["password"], code)
    claims = verify_access_token(session["access_token"], app.public_keys())
    assert claims["kind"] == "agent" and claims["roles"] == ["administrator"]
    with pytest.raises(InvalidInput):  # a code is usable once
        app.agent_login("admin", agent["password"], code)
    with pytest.raises(Forbidden):
        app.agent_search(Caller(kind="citizen", subject="x"))


def test_provisioned_account_must_give_an_email(app):
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    results = app.import_families(admin, "birth_name;first_name;family_file_ref\nHoarau;Paul;F-0001\n;Sans;x\n")
    assert results[1]["errors"] == {"birth_name": [msg.FIELD_REQUIRED]}
    created = results[0]
    assert created["login"] == "paul.hoarau"
    with pytest.raises(GuichetError) as refused:
        app.forgotten_password("paul.hoarau")
    assert refused.value.detail == msg.RECOVERY_NEEDS_EMAIL
    session = app.login("paul.hoarau", created["password"])
    assert session["email_required"] is True and session["notice"] == msg.PROVISIONED_EMAIL_MISSING
    caller = Caller(kind="citizen", subject=created["account_id"], session=session["session_id"])
    assert app.me(caller)["can_pay_online"] is False
    profile = app.update_me(caller, {"email": "paul.hoarau@example.org"})
    assert profile["can_pay_online"] is True and profile["email_required"] is False
    assert messages(app, "contact.updated.v1")[-1]["data"]["email"] == "paul.hoarau@example.org"
    app.forgotten_password("paul.hoarau")
    assert messages(app, "notification.requested.v1")[-1]["data"]["template"] == "password_reset"


def test_key_rotation_keeps_old_tokens_verifiable(app):
    _, session, _ = register_and_activate(app)
    app.rotate_keys()
    jwks = app.public_keys()
    assert len(jwks["keys"]) == 2
    verify_access_token(session["access_token"], jwks)
    app.retire_keys(grace=dt.timedelta(0))
    assert len(app.public_keys()["keys"]) == 1


def test_captcha_is_checked_once(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(handlers.captcha, "new_text", lambda: "AB3CD4")
    app = make_app(tmp_path, clock)
    app.rules = RegistrationRules(captcha=True)
    try:
        challenge = app.new_captcha()
        assert challenge["image"].startswith("data:image/png;base64,") and "AB3CD4" not in str(challenge)
        assert challenge["audio_label"] == msg.CAPTCHA_AUDIO_LABEL and challenge["expires_in"] == 600
        data = registration(captcha_id=challenge["captcha_id"], captcha_answer="WRONG1")
        with pytest.raises(InvalidInput) as wrong:
            app.register(data)
        assert wrong.value.errors == {"captcha_answer": [msg.CAPTCHA_WRONG]}
        with pytest.raises(InvalidInput):  # a wrong guess used the challenge up: no second guess on it
            app.register(registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        challenge = app.new_captcha()
        app.register(registration(captcha_id=challenge["captcha_id"], captcha_answer="ab3 cd4"))
        with pytest.raises(InvalidInput):
            app.register(registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        late = app.new_captcha()
        clock.now += dt.timedelta(minutes=10)
        with pytest.raises(InvalidInput):
            app.register(registration(captcha_id=late["captcha_id"], captcha_answer="AB3CD4", email="x@example.org"))
    finally:
        app.db.dispose()
        handlers._keyrings.clear()


def test_a_live_captcha_has_an_audio_alternative_refused_once_answered_or_expired(tmp_path, clock, monkeypatch):
    import base64
    import io
    import wave

    from guichet_accounts.exceptions import CaptchaNotFound

    spoken, render_wav = [], handlers.captcha.render_wav
    monkeypatch.setattr(handlers.captcha, "new_text", lambda: "AB3CD4")
    monkeypatch.setattr(handlers.captcha, "render_wav", lambda text: spoken.append(text) or render_wav(text))
    app = make_app(tmp_path, clock)
    app.rules = RegistrationRules(captcha=True)
    try:
        challenge = app.new_captcha()
        audio = app.captcha_audio(challenge["captcha_id"])
        assert audio["content_type"] == "audio/wav" and spoken == ["AB3CD4"]  # the characters of the image
        with wave.open(io.BytesIO(base64.b64decode(audio["audio"]))) as wav:
            assert wav.getframerate() == 8000 and wav.getnframes() / 8000 > 6
        assert app.captcha_audio(challenge["captcha_id"])["audio"] != audio["audio"]  # new noise, same text
        app.register(registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        with pytest.raises(CaptchaNotFound) as used:
            app.captcha_audio(challenge["captcha_id"])
        assert used.value.status == 404 and used.value.problem()["type"] == "urn:guichet:problem:captcha-not-found"
        assert used.value.detail == msg.CAPTCHA_GONE

        expiring = app.new_captcha()
        clock.now += dt.timedelta(minutes=9, seconds=59)
        assert app.captcha_audio(expiring["captcha_id"])["audio"]
        clock.now += dt.timedelta(seconds=1)
        with pytest.raises(CaptchaNotFound):
            app.captcha_audio(expiring["captcha_id"])
        with pytest.raises(CaptchaNotFound):
            app.captcha_audio("unknown")
    finally:
        app.db.dispose()
        handlers._keyrings.clear()


def count(app, table):
    with app.db.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_purge_removes_what_can_no_longer_serve_and_keeps_what_can(app, clock):
    from guichet_accounts.models import (
        captcha_challenges,
        one_time_tokens,
        refresh_families,
        refresh_token_hashes,
        throttle_records,
    )

    account_id, session, caller = register_and_activate(app)  # the activation link is now used
    live = app.login("pascal.dupin", PASSWORD)
    ended = app.login("pascal.dupin", PASSWORD)
    app.logout(Caller(kind="citizen", subject=account_id, session=ended["session_id"]))
    with pytest.raises(LoginFailed):
        app.login("pascal.dupin", "wrong")  # a throttle record
    app.forgotten_password("pascal.dupin")  # a live reset link
    app.new_captcha()
    assert app.purge_expired() == {"links": 1, "sessions": 0, "throttle_records": 0, "captchas": 0}

    clock.now += dt.timedelta(days=1, minutes=1)  # the reset link, the captcha and the throttle window are over
    purged = app.purge_expired()
    assert purged["links"] == 1 and purged["captchas"] == 1 and purged["throttle_records"] >= 1
    assert purged["sessions"] == 1  # the one logged out more than a day ago; the others are still valid
    assert count(app, one_time_tokens) == 0 and count(app, captcha_challenges) == 0
    assert count(app, throttle_records) == 0
    assert count(app, refresh_families) == 2  # the activation session and the live one
    with app.db.engine.connect() as connection:
        orphans = connection.execute(sa.select(sa.func.count()).select_from(refresh_token_hashes).where(
            refresh_token_hashes.c.family_id.not_in(sa.select(refresh_families.c.family_id)))).scalar_one()
    assert orphans == 0
    assert app.refresh(live["refresh_token"])["access_token"]  # a live session survives the purge

    clock.now += dt.timedelta(days=400)
    assert app.purge_expired()["sessions"] == 2 and count(app, refresh_token_hashes) == 0


def test_import_and_family_file_are_for_the_right_agents_and_audited(app):
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    enfance = Caller(kind="agent", subject="enf-1", roles=("enfance",))
    with pytest.raises(Forbidden):
        app.import_families(enfance, "")  # refused even with nothing to import
    with pytest.raises(InvalidInput) as too_long:
        app.import_families(admin, "birth_name;first_name\n" + "Hoarau;Paul\n" * (handlers.MAX_IMPORT_LINES + 1))
    assert "guichet-accounts" in too_long.value.errors["file"][0]
    [created] = app.import_families(admin, "birth_name;first_name\nHoarau;Paul\n")
    with pytest.raises(Forbidden):
        app.set_family_file_ref(admin.__class__(kind="agent", subject="v-1", roles=("voirie",)),
                                created["account_id"], "F-1")
    assert app.set_family_file_ref(enfance, created["account_id"], " F-2026-7 ")["family_file_ref"] == "F-2026-7"
    with pytest.raises(NotFound):
        app.set_family_file_ref(enfance, "no-such-account", "F-1")
    with pytest.raises(InvalidInput):
        app.set_family_file_ref(enfance, created["account_id"], "F" * 65)
    actions = [(row["agent_id"], row["action"]) for row in app.agent_audit(admin)]
    assert ("enf-1", "set_family_file_ref") in actions and ("admin-1", "provision_account") in actions


def test_schooling_events_keep_the_schooled_children_up_to_date_once(app):
    account_id, _, alice = register_and_activate(app)
    child = app.add_member(alice, {"role": "enfant", "first_name": "Eric", "birth_date": "2019-05-01"})
    spouse = app.add_member(alice, {"role": "conjoint", "first_name": "Jeanne"})
    schooling = {"account_id": account_id, "member_id": child["member_id"], "school_year": "2026-2027",
                 "school": "École élémentaire Jean-Marie Brison", "level": "CP", "class_name": "CP A",
                 "certificate_url": f"/api/v1/me/schooling/{child['member_id']}/certificate"}
    changed_before = len(messages(app, "household_member.changed.v1"))
    assert app.schooling_updated("evt-1", schooling) is True
    assert app.schooling_updated("evt-1", schooling) is False  # the same event again: no second effect
    [shown] = [m for m in app.household(alice)["members"] if m["member_id"] == child["member_id"]]
    assert shown["school"] == {key: schooling[key] for key in Accounts.SCHOOL_KEYS}
    assert len(messages(app, "household_member.changed.v1")) == changed_before + 1
    assert app.schooling_updated("evt-2", {**schooling, "member_id": spouse["member_id"]}) is False  # not a child
    assert app.schooling_updated("evt-3", {**schooling, "account_id": "someone-else"}) is False
    assert app.schooling_ended("evt-4", {"account_id": account_id, "member_id": child["member_id"]}) is True
    [shown] = [m for m in app.household(alice)["members"] if m["member_id"] == child["member_id"]]
    assert shown["school"] is None


def test_enfance_agents_record_schooling_audited(app):
    account_id, _, alice = register_and_activate(app)
    child = app.add_member(alice, {"role": "enfant", "first_name": "Eric"})
    enfance = Caller(kind="agent", subject="enf-1", roles=("enfance",))
    school = {"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1"}
    with pytest.raises(Forbidden):
        app.agent_set_school(Caller(kind="agent", subject="v-1", roles=("voirie",)), account_id,
                             child["member_id"], school)
    with pytest.raises(Forbidden):
        app.agent_set_school(alice, account_id, child["member_id"], school)
    recorded = app.agent_set_school(enfance, account_id, child["member_id"], school)
    assert recorded["school"]["school"] == "École Jules Ferry" and recorded["school"]["class_name"] is None
    with pytest.raises(InvalidInput):
        app.agent_set_school(enfance, account_id, child["member_id"], {"school_year": "x" * 20})
    with pytest.raises(NotFound):
        app.agent_set_school(enfance, account_id, "no-such-child", school)
    assert app.agent_set_school(enfance, account_id, child["member_id"], None)["school"] is None
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    assert [r["action"] for r in app.agent_audit(admin)].count("set_school") == 2
