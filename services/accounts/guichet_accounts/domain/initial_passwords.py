"""The initial password of a town-created account is provisional (issue 11), without I/O.

The town prints it on the family's invoice (seed 002), so it travels on paper and may be read by others: it
must be changed at the first login (``password_change_required``; the citizen's changes wait until then, as the
email does for online payment), and it stops working ``initial_password_days`` after it was issued (30 by
default; a new one is issued by the town hall, or the reset link if the account has an email). The account
keeps the expiry while the password is the initial one; a password the citizen chooses clears it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from guichet_common import clock
from guichet_common.clock import Zone

from ..exceptions import PasswordChangeRequired
from . import messages as msg

DEFAULT_LIFETIME = timedelta(days=30)


def expiry_of_initial_password(issued_at: datetime, lifetime: timedelta) -> datetime:
    return issued_at + lifetime


def must_change(expires_at: datetime | None) -> bool:
    """Is the account's password still the initial one?"""
    return expires_at is not None


def has_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def ensure_password_chosen(expires_at: datetime | None) -> None:
    """The citizen's changes wait until the initial password is replaced."""
    if must_change(expires_at):
        raise PasswordChangeRequired()


def notice(expires_at: datetime, zone: Zone) -> str:
    return msg.INITIAL_PASSWORD_NOTICE.format(date=clock.format_short_date(expires_at, zone))
