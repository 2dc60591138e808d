"""« Mon compte »: profile changes (events without values) and the change of password."""

import pytest

from guichet_accounts.domain import messages as msg
from guichet_common.auth import Caller
from guichet_common.errors import InvalidInput, Unauthenticated

from ... import factories


def test_profile_update_sends_event_without_values_and_contact_command(app):
    account_id, _, caller = factories.active_citizen(app)
    profile = app.profile.me(caller)
    assert profile["email"] == "pascal.dupin@example.org" and profile["login"] == "pascal.dupin"
    updated = app.profile.update_me(caller, {"phones": {"mobile": "0699887766"}, "communication_preference": "sms",
                                     "social": {"quotient_familial": 650, "caf_number": "1234567"}})
    assert updated["phones"] == {"mobile": "+33699887766"} and updated["social"]["quotient_familial"] == 650
    event = factories.messages(app, "account.updated.v1")[-1]["data"]
    assert sorted(event["changed"]) == ["contact", "social"]
    assert factories.messages(app, "contact.updated.v1")[-1]["data"]["preference"] == "sms"
    with pytest.raises(InvalidInput) as error:
        app.profile.update_me(caller, {"email": "pas-un-email"})
    assert error.value.errors == {"email": [msg.EMAIL_INVALID]}


def test_change_password_ends_the_other_sessions(app):
    _, first, caller = factories.active_citizen(app)
    second = app.sessions.login("pascal.dupin", factories.PASSWORD)
    current = Caller(kind="citizen", subject=caller.subject, session=second["session_id"])
    with pytest.raises(InvalidInput) as wrong:
        app.profile.change_password(current, "Wrong1234!", "Lune2027!abc", "Lune2027!abc")
    assert wrong.value.errors == {"current_password": [msg.PASSWORD_CURRENT_WRONG]}
    assert app.profile.change_password(current, factories.PASSWORD, "Lune2027!abc", "Lune2027!abc")["sessions_ended"] == 1
    with pytest.raises(Unauthenticated):
        app.sessions.refresh(first["refresh_token"])
    assert app.sessions.refresh(second["refresh_token"])["access_token"]



def test_a_town_created_account_changing_its_security_question_gets_an_answer_not_a_500(app):
    # Its form checks the security fields by a partial registration form (only those two fields): the town's
    # rules about other fields (address, birth place) must not reach it (found by the API fuzzer: a 500).
    created = factories.provisioned_account(app)
    session = app.sessions.login(created["login"], created["password"])
    caller = Caller(kind="citizen", subject=created["account_id"], session=session["session_id"])
    app.profile.change_password(caller, created["password"], "Lune2027!abc", "Lune2027!abc")
    app.profile.update_me(caller, {"email": "paul.hoarau@example.org", "phones": {"mobile": "0699887766"}})
    for change in ({"security_question": "first_pet"}, {"security_question": "first_pet", "security_answer": "Médor"}):
        try:
            app.profile.update_me(caller, change)
        except InvalidInput as refused:  # a French 422 on named fields is an answer; a KeyError was a 500
            assert refused.errors and all(isinstance(messages, list) for messages in refused.errors.values())
