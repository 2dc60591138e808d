"""Citizens' login, refresh-token rotation, logout and the signing keys."""
import datetime as dt

import pytest

from guichet_accounts.domain.authentication import last_login_label
from guichet_accounts.exceptions import LoginFailed
from guichet_common import access_tokens
from guichet_common.errors import (
    TooManyRequests,
    Unauthenticated,
)

from ... import factories


def test_login_by_login_or_email_same_error_for_unknown_and_throttled(app, clock):
    factories.active_citizen(app)
    first = app.sessions.login("pascal.dupin", factories.PASSWORD, "192.0.2.1")
    assert first["last_login"] == last_login_label(clock.now, app.context.settings.timezone)  # activation logged in
    assert first["last_login"].startswith("Dernière connexion le ")
    assert app.sessions.login("Pascal.Dupin@Example.org", factories.PASSWORD)["login"] == "pascal.dupin"
    with pytest.raises(LoginFailed) as known:
        app.sessions.login("pascal.dupin", "Wrong1234!", "192.0.2.1")
    with pytest.raises(LoginFailed) as unknown:
        app.sessions.login("nobody.here", "Wrong1234!", "192.0.2.1")
    assert known.value.problem() == unknown.value.problem()
    for _ in range(4):
        with pytest.raises((LoginFailed, TooManyRequests)):
            app.sessions.login("nobody.else", "Wrong1234!", "192.0.2.2")
    with pytest.raises(TooManyRequests) as locked:
        app.sessions.login("nobody.else", "Wrong1234!", "192.0.2.2")
    assert "Trop de tentatives" in locked.value.detail


def test_refresh_rotates_and_reuse_ends_the_session(app):
    _, session, _ = factories.active_citizen(app)
    renewed = app.sessions.refresh(session["refresh_token"])
    assert renewed["refresh_token"] != session["refresh_token"]
    with pytest.raises(Unauthenticated) as reused:
        app.sessions.refresh(session["refresh_token"])
    assert reused.value.slug == "session-revoked"
    with pytest.raises(Unauthenticated):
        app.sessions.refresh(renewed["refresh_token"])


def test_logout_ends_the_session(app):
    _, session, caller = factories.active_citizen(app)
    app.sessions.logout(caller)
    with pytest.raises(Unauthenticated):
        app.sessions.refresh(session["refresh_token"])


def test_key_rotation_keeps_old_tokens_verifiable(app):
    _, session, _ = factories.active_citizen(app)
    app.sessions.rotate_keys()
    jwks = app.sessions.public_keys()
    assert len(jwks["keys"]) == 2
    access_tokens.verify(session["access_token"], access_tokens.keys_from_jwks(jwks).get)
    app.sessions.retire_keys(grace=dt.timedelta(0))
    assert len(app.sessions.public_keys()["keys"]) == 1
