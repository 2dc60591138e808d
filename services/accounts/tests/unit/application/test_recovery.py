"""Forgotten login and password, the security question, the reset link."""
import pytest

from guichet_accounts.exceptions import LoginFailed
from guichet_common.errors import InvalidInput, Unauthenticated

from ... import factories


def test_forgotten_login_and_password_same_answer_and_reset(app):
    account_id, session, caller = factories.active_citizen(app)
    before = len(factories.messages(app))
    assert app.recovery.forgotten_login("inconnu@example.org") == app.recovery.forgotten_login("pascal.dupin@example.org")
    assert app.recovery.forgotten_password("inconnu") == app.recovery.forgotten_password("pascal.dupin")
    sent = factories.messages(app)[before:]
    assert [m["data"]["template"] for m in sent] == ["login_reminder", "password_reset"]
    assert sent[0]["data"]["personalisation"]["username"] == "pascal.dupin"
    reset_url = sent[1]["data"]["personalisation"]["reset_url"]
    new = "Lune2027!abc"
    assert app.recovery.reset_password(factories.token_from(reset_url), new, new)["login"] == "pascal.dupin"
    with pytest.raises(Unauthenticated):  # every session ended
        app.sessions.refresh(session["refresh_token"])
    with pytest.raises(LoginFailed):
        app.sessions.login("pascal.dupin", factories.PASSWORD)
    assert app.sessions.login("pascal.dupin", new)["login"] == "pascal.dupin"


def test_security_question_gates_the_reset(tmp_path, clock):
    app = factories.application(tmp_path, clock, security_question="required")
    try:
        factories.active_citizen(app, security_question="first_pet", security_answer="Médor")
        assert app.recovery.security_question("pascal.dupin")["security_question"] == "first_pet"
        assert app.recovery.security_question("nobody")["security_question"] == app.recovery.security_question("nobody")[
            "security_question"]
        with pytest.raises(InvalidInput):
            app.recovery.forgotten_password("pascal.dupin", "Rex")
        with pytest.raises(InvalidInput):
            app.recovery.forgotten_password("nobody", "Rex")
        app.recovery.forgotten_password("pascal.dupin", "medor")
        assert factories.messages(app, "notification.requested.v1")[-1]["data"]["template"] == "password_reset"
    finally:
        app.db.dispose()
