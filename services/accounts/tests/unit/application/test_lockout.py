"""Issue 11 item 6 through the login use case and its database store: failures are counted per login and
address together, so a stranger's failures lock out the stranger's address only."""
import datetime as dt

import pytest

from guichet_accounts.exceptions import LoginFailed
from guichet_common.errors import TooManyRequests

from ... import factories


def test_five_failures_from_one_address_leave_the_citizen_free_to_log_in_from_another(app, clock):
    factories.active_citizen(app)
    for _ in range(5):
        with pytest.raises((LoginFailed, TooManyRequests)):  # the fifth locks that address out
            app.sessions.login("pascal.dupin", "Wrong1234!", "203.0.113.7")
        clock.now += dt.timedelta(minutes=1)
    with pytest.raises(TooManyRequests) as locked:
        app.sessions.login("pascal.dupin", factories.PASSWORD, "203.0.113.7")
    assert locked.value.detail.startswith("Trop de tentatives")
    assert app.sessions.login("pascal.dupin", factories.PASSWORD, "198.51.100.1")["login"] == "pascal.dupin"


def test_quick_failures_are_slowed_down_for_seconds(app, clock):
    factories.active_citizen(app)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            app.sessions.login("pascal.dupin", "Wrong1234!", "203.0.113.7")
    with pytest.raises(TooManyRequests) as slowed:
        app.sessions.login("pascal.dupin", factories.PASSWORD, "203.0.113.7")
    assert slowed.value.extra["retry_after"] <= 3 and "seconde" in slowed.value.detail
    clock.now += dt.timedelta(seconds=2)
    assert app.sessions.login("pascal.dupin", factories.PASSWORD, "203.0.113.7")["login"] == "pascal.dupin"
