"""French formatting of dates, times and amounts, without any locale dependency.

Guichet stores times in UTC and shows them in Europe/Paris (DESIGN.md). Values
arrive in a notification's personalisation as JSON, so every formatter accepts
``datetime``/``date`` objects and ISO 8601 strings; an unusable value raises
:class:`FormattingError` (a ``ValueError``) with a French message naming what
was expected, which the template renderer reports as a bad personalisation.

Typography (Imprimerie nationale / CLDR ``fr``)::

    format_date(...)      -> "mercredi 25 novembre 2026", "lundi 1er juin 2026"
    format_datetime(...)  -> "mercredi 25 novembre 2026 à 14 h 30", "... à 9 h"
    format_short_date(...) -> "25/11/2026" (the seeds' short form)
    format_month(...)     -> "novembre 2026"
    format_euros(1250)    -> "12,50 €";  format_euros(123456) -> "1 234,56 €"

Spaces are ordinary spaces so that plain-text mails and SMS stay searchable and
GSM-7; the HTML filters of :mod:`.templates` turn them into no-break spaces.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_ONLY = re.compile(r"^(\d{4})-(\d{2})$")


class FormattingError(ValueError):
    """A value cannot be formatted (wrong type or unparsable string)."""


def parse_temporal(value) -> date | datetime:
    """A ``date`` or an aware ``datetime`` from a date, datetime or ISO 8601 string.

    Naive datetimes (and ISO strings without offset) are taken as UTC, as
    Guichet stores times in UTC. ``"2026-11-25"`` stays a date (no time shown,
    no time-zone shift).
    """
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                return date.fromisoformat(text)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise FormattingError(f"date ou heure ISO 8601 attendue, reçu {text[:40]!r}") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    raise FormattingError(f"date ou heure attendue, reçu une valeur de type {type(value).__name__}")


def to_paris(value) -> date | datetime:
    """The value in Europe/Paris (dates are returned unchanged)."""
    parsed = parse_temporal(value)
    if isinstance(parsed, datetime):
        return parsed.astimezone(PARIS)
    return parsed


def _day(d: date) -> str:
    return "1er" if d.day == 1 else str(d.day)


def format_date(value, *, weekday: bool = True) -> str:
    """``"mercredi 25 novembre 2026"`` (the day in Paris for a datetime)."""
    d = to_paris(value)
    day = d.date() if isinstance(d, datetime) else d
    text = f"{_day(day)} {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def format_time(value, *, space: str = " ") -> str:
    """``"14 h 30"``, ``"9 h"`` for a whole hour (French typography)."""
    if isinstance(value, time):
        t = value
    else:
        d = to_paris(value)
        if not isinstance(d, datetime):
            raise FormattingError("heure attendue, reçu une date sans heure")
        t = d.timetz()
    return f"{t.hour}{space}h" if t.minute == 0 else f"{t.hour}{space}h{space}{t.minute:02d}"


def format_datetime(value, *, weekday: bool = True, space: str = " ") -> str:
    """``"mercredi 25 novembre 2026 à 14 h 30"``; a date alone gives the date only."""
    d = to_paris(value)
    if not isinstance(d, datetime):
        return format_date(d, weekday=weekday)
    return f"{format_date(d, weekday=weekday)} à {format_time(d, space=space)}"


def format_short_date(value) -> str:
    """``"25/11/2026"``."""
    d = to_paris(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def format_month(value) -> str:
    """``"novembre 2026"`` from a date, datetime, ``"2026-11"`` or ``"2026-11-25"``."""
    if isinstance(value, str):
        m = _MONTH_ONLY.match(value.strip())
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise FormattingError(f"mois invalide {value!r}")
            return f"{MONTHS[month - 1]} {year}"
    d = to_paris(value)
    return f"{MONTHS[d.month - 1]} {d.year}"


def _group_thousands(digits: str, sep: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return sep.join(groups)


def parse_cents(value) -> int:
    """An amount in integer cents (Guichet's money representation).

    Accepts an ``int`` or a string of digits (with an optional minus sign);
    floats and booleans are refused: money never travels as a float.
    """
    if isinstance(value, bool):
        raise FormattingError("montant en centimes (entier) attendu, reçu un booléen")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise FormattingError(f"montant en centimes (entier) attendu, reçu {type(value).__name__}")


def format_euros(value, *, space: str = " ") -> str:
    """``"12,50 €"``, ``"1 234,56 €"``, ``"-3,05 €"`` from integer cents.

    ``space`` is the character used between thousands groups and before the
    euro sign (a no-break space in HTML).
    """
    cents = parse_cents(value)
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{_group_thousands(str(euros), space)},{rest:02d}{space}€"
