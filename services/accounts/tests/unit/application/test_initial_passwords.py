"""Issue 11 item 7: the initial password of a town-created account is provisional.

Its first login asks for a new password (as it asks for the email), the citizen's changes wait until it is
chosen, and the initial password expires after the town's delay (30 days by default): then it cannot log in,
and the French refusal says to ask the town hall or use « mot de passe oublié ».
"""
import datetime as dt

import pytest

from guichet_accounts.bootstrap import AccountsSettings
from guichet_accounts.domain import messages as msg
from guichet_accounts.exceptions import InitialPasswordExpired, LoginFailed
from guichet_common.auth import Caller
from guichet_common.errors import Forbidden

from ... import factories

NEW = "Lune2027!abc"


def _caller(created, session):
    return Caller(kind="citizen", subject=created["account_id"], session=session["session_id"])


def test_the_first_login_with_an_initial_password_asks_for_a_new_one(app):
    created = factories.provisioned_account(app)
    session = app.sessions.login(created["login"], created["password"])
    assert session["password_change_required"] is True
    assert session["notice"].startswith(msg.INITIAL_PASSWORD_NOTICE.split("{")[0])
    caller = _caller(created, session)
    assert app.profile.me(caller)["password_change_required"] is True
    with pytest.raises(Forbidden) as refused:
        app.profile.update_me(caller, {"email": "paul.hoarau@example.org"})
    assert refused.value.slug == "password-change-required" and refused.value.detail == msg.PASSWORD_CHANGE_REQUIRED
    with pytest.raises(Forbidden):
        app.household.add_member(caller, {"role": "enfant", "first_name": "Léa", "birth_date": "2016-05-01"})

    app.profile.change_password(caller, created["password"], NEW, NEW)
    assert app.profile.me(caller)["password_change_required"] is False
    assert app.profile.update_me(caller, {"email": "paul.hoarau@example.org"})["email"] == "paul.hoarau@example.org"
    again = app.sessions.login(created["login"], NEW)
    assert again["password_change_required"] is False


def test_a_citizen_s_own_password_is_never_provisional(app):
    _, session, caller = factories.active_citizen(app)
    assert session["password_change_required"] is False
    assert app.sessions.login("pascal.dupin", factories.PASSWORD)["password_change_required"] is False
    assert app.profile.me(caller)["password_change_required"] is False


def test_an_initial_password_expires_after_the_town_s_delay(app, clock):
    created = factories.provisioned_account(app)
    clock.now += dt.timedelta(days=30, seconds=1)
    with pytest.raises(InitialPasswordExpired) as expired:
        app.sessions.login(created["login"], created["password"])
    assert expired.value.status == 401 and expired.value.detail == msg.INITIAL_PASSWORD_EXPIRED
    assert "mairie" in expired.value.detail and "Mot de passe oublié" in expired.value.detail
    with pytest.raises(LoginFailed):  # a wrong password tells nothing more
        app.sessions.login(created["login"], "Wrong1234!")

    reissued = app.provisioning.reissue_password(factories.ADMIN, created["account_id"])
    assert app.sessions.login(created["login"], reissued["password"])["password_change_required"] is True


def test_an_initial_password_is_valid_until_its_expiry(app, clock):
    created = factories.provisioned_account(app)
    clock.now += dt.timedelta(days=29, hours=23)
    assert app.sessions.login(created["login"], created["password"])["password_change_required"] is True


def test_a_reset_link_ends_the_provisional_password(app):
    created = factories.provisioned_account(app, email="paul.hoarau@example.org")
    app.recovery.forgotten_password(created["login"])
    reset_url = factories.messages(app, "notification.requested.v1")[-1]["data"]["personalisation"]["reset_url"]
    app.recovery.reset_password(factories.token_from(reset_url), NEW, NEW)
    assert app.sessions.login(created["login"], NEW)["password_change_required"] is False


def test_the_delay_is_a_town_setting():
    assert AccountsSettings.from_town({}, environ={}).initial_password_ttl == dt.timedelta(days=30)
    settings = AccountsSettings.from_town({"accounts": {"initial_password_days": 10}}, environ={})
    assert settings.initial_password_ttl == dt.timedelta(days=10)
    with pytest.raises(ValueError, match="initial_password_days"):
        AccountsSettings.from_town({"accounts": {"initial_password_days": 0}}, environ={})
