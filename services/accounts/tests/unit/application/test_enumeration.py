"""Issue 11 item 4: the recovery answers tell nobody whether an account exists.

An account without a security question gets a stable made-up question, as an unknown login does (keyed with a
secret of the service, so nobody can work it out offline), and a town-created account without an email gets the
same answer to « mot de passe oublié » as an unknown login: it is told at login that recovery needs an email.
"""
import pytest

from guichet_accounts.domain import messages as msg
from guichet_common.errors import InvalidInput

from ... import factories


def _question(app, identifier):
    answer = app.recovery.security_question(identifier)
    return answer["security_question"], answer.get("security_question_label")


def test_an_account_without_a_question_gets_a_stable_question_like_an_unknown_login(app):
    factories.active_citizen(app)  # no security question (the town's default: optional)
    known, unknown = _question(app, "pascal.dupin"), _question(app, "pascal.dupon")
    assert known[0] in msg.SECURITY_QUESTIONS and unknown[0] in msg.SECURITY_QUESTIONS
    assert known[1] == msg.SECURITY_QUESTIONS[known[0]]
    assert _question(app, "pascal.dupin") == known and _question(app, "PASCAL.DUPIN") == known
    assert _question(app, "pascal.dupon") == unknown


def test_the_made_up_question_needs_a_secret_of_the_service(tmp_path, clock):
    """Two installations pick different questions for the same logins: no public formula gives them away."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = factories.application(tmp_path / "a", clock)
    second = factories.application(tmp_path / "b", clock)
    try:
        logins = [f"prenom{i}.nom" for i in range(40)]
        assert [_question(first, x) for x in logins] != [_question(second, x) for x in logins]
        assert [_question(first, x) for x in logins] == [_question(first, x) for x in logins]
    finally:
        first.db.dispose()
        second.db.dispose()


def test_a_real_question_is_still_the_account_s_own(tmp_path, clock):
    app = factories.application(tmp_path, clock, security_question="required")
    try:
        factories.active_citizen(app, security_question="first_pet", security_answer="Médor")
        assert _question(app, "pascal.dupin")[0] == "first_pet"
    finally:
        app.db.dispose()


def test_forgotten_password_of_a_town_created_account_without_email_answers_like_an_unknown_login(app):
    created = factories.provisioned_account(app)
    before = len(factories.messages(app, "notification.requested.v1"))
    assert app.recovery.forgotten_password(created["login"]) == app.recovery.forgotten_password("paul.hoaru")
    assert app.recovery.forgotten_password(created["login"]) == {"message": msg.FORGOTTEN_PASSWORD_SENT}
    assert len(factories.messages(app, "notification.requested.v1")) == before  # no address to send to


def test_the_town_created_account_is_told_at_login_that_recovery_needs_an_email(app):
    created = factories.provisioned_account(app)
    session = app.sessions.login(created["login"], created["password"])
    assert msg.PROVISIONED_EMAIL_MISSING in session["notice"]
    assert msg.LOGIN_RECOVERY_NEEDS_EMAIL in session["notice"]


def test_with_the_question_required_no_question_and_unknown_answer_alike(tmp_path, clock):
    app = factories.application(tmp_path, clock, security_question="required")
    try:
        created = factories.provisioned_account(app)  # the town asked no question
        for answer in (None, "Médor"):
            with pytest.raises(InvalidInput) as known:
                app.recovery.forgotten_password(created["login"], answer)
            with pytest.raises(InvalidInput) as unknown:
                app.recovery.forgotten_password("paul.hoaru", answer)
            assert known.value.problem() == unknown.value.problem()
    finally:
        app.db.dispose()
