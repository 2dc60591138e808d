"""The purge of what can no longer serve."""
import datetime as dt

import pytest
import sqlalchemy as sa

from guichet_accounts.exceptions import LoginFailed
from guichet_common.auth import Caller

from ... import factories


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

    account_id, session, caller = factories.active_citizen(app)  # the activation link is now used
    live = app.sessions.login("pascal.dupin", factories.PASSWORD)
    ended = app.sessions.login("pascal.dupin", factories.PASSWORD)
    app.sessions.logout(Caller(kind="citizen", subject=account_id, session=ended["session_id"]))
    with pytest.raises(LoginFailed):
        app.sessions.login("pascal.dupin", "wrong")  # a throttle record
    app.recovery.forgotten_password("pascal.dupin")  # a live reset link
    app.registration.new_captcha()
    assert app.housekeeping.purge_expired() == {"links": 1, "sessions": 0, "throttle_records": 0, "captchas": 0}

    clock.now += dt.timedelta(days=1, minutes=1)  # the reset link, the captcha and the throttle window are over
    purged = app.housekeeping.purge_expired()
    assert purged["links"] == 1 and purged["captchas"] == 1 and purged["throttle_records"] >= 1
    assert purged["sessions"] == 1  # the one logged out more than a day ago; the others are still valid
    assert count(app, one_time_tokens) == 0 and count(app, captcha_challenges) == 0
    assert count(app, throttle_records) == 0
    assert count(app, refresh_families) == 2  # the activation session and the live one
    with app.db.engine.connect() as connection:
        orphans = connection.execute(sa.select(sa.func.count()).select_from(refresh_token_hashes).where(
            refresh_token_hashes.c.family_id.not_in(sa.select(refresh_families.c.family_id)))).scalar_one()
    assert orphans == 0
    assert app.sessions.refresh(live["refresh_token"])["access_token"]  # a live session survives the purge

    clock.now += dt.timedelta(days=400)
    assert app.housekeeping.purge_expired()["sessions"] == 2 and count(app, refresh_token_hashes) == 0
