"""Time in the town: its time zone (town settings, ``timezone``, default Europe/Paris) and French dates.

Guichet stores times in UTC and shows them in the town's zone. The formatting
functions are pure: they take the zone as an argument (a ``ZoneInfo`` or its
IANA name); :func:`town_zone` reads it from this process's town settings, so a
service's bootstrap gives it to its domain. Values may arrive as JSON (a
notification's personalisation), so every formatter accepts ``datetime`` /
``date`` objects and ISO 8601 strings; naive datetimes are UTC. An unusable
value raises :class:`FormattingError` (a ``ValueError``) in French.

Typography (Imprimerie nationale / CLDR ``fr``), no locale dependency::

    format_date(v, zone)        -> "mercredi 25 novembre 2026", "lundi 1er juin 2026"
    format_datetime(v, zone)    -> "mercredi 25 novembre 2026 à 14 h 30", "... à 9 h"
    format_time(v, zone)        -> "14 h 30", "9 h"
    format_short_date(v, zone)  -> "25/11/2026"
    format_clock_time(v, zone)  -> "14:30"
    format_month(v, zone)       -> "novembre 2026"

Spaces are ordinary spaces (plain-text mails and SMS stay searchable and
GSM-7); ``space=`` gives a no-break space for HTML.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from . import town
from .errors import FormattingError

__all__ = ["FormattingError", "MONTHS", "WEEKDAYS", "DEFAULT_ZONE", "Zone", "zone_info", "town_zone",
           "parse_temporal", "local", "format_date", "format_time", "format_datetime", "format_short_date",
           "format_clock_time", "format_month"]

DEFAULT_ZONE = "Europe/Paris"

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")

Zone = ZoneInfo | str

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_ONLY = re.compile(r"^(\d{4})-(\d{2})$")


def zone_info(zone: Zone) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def town_zone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """The time zone of this process's town settings (checked when they were loaded)."""
    return ZoneInfo(town.town_settings(environ).get("timezone") or DEFAULT_ZONE)


def parse_temporal(value) -> date | datetime:
    """A ``date`` or an aware ``datetime`` from a date, datetime or ISO 8601 string.

    Naive datetimes (and ISO strings without offset) are UTC. ``"2026-11-25"``
    stays a date (no time shown, no time-zone shift).
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


def local(value, zone: Zone) -> date | datetime:
    """The value in ``zone`` (a date is returned unchanged)."""
    parsed = parse_temporal(value)
    if isinstance(parsed, datetime):
        return parsed.astimezone(zone_info(zone))
    return parsed


def _day(d: date) -> str:
    return "1er" if d.day == 1 else str(d.day)


def format_date(value, zone: Zone, *, weekday: bool = True) -> str:
    """``"mercredi 25 novembre 2026"`` (the day in ``zone`` for a datetime)."""
    d = local(value, zone)
    day = d.date() if isinstance(d, datetime) else d
    text = f"{_day(day)} {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def _local_time(value, zone: Zone) -> time:
    if isinstance(value, time):
        return value
    d = local(value, zone)
    if not isinstance(d, datetime):
        raise FormattingError("heure attendue, reçu une date sans heure")
    return d.timetz()


def format_time(value, zone: Zone, *, space: str = " ") -> str:
    """``"14 h 30"``, ``"9 h"`` for a whole hour (a ``time`` is taken as it is)."""
    t = _local_time(value, zone)
    return f"{t.hour}{space}h" if t.minute == 0 else f"{t.hour}{space}h{space}{t.minute:02d}"


def format_clock_time(value, zone: Zone) -> str:
    """``"16:13"``: the hour as screens and short labels show it."""
    t = _local_time(value, zone)
    return f"{t.hour:02d}:{t.minute:02d}"


def format_datetime(value, zone: Zone, *, weekday: bool = True, space: str = " ") -> str:
    """``"mercredi 25 novembre 2026 à 14 h 30"``; a date alone gives the date only."""
    d = local(value, zone)
    if not isinstance(d, datetime):
        return format_date(d, zone, weekday=weekday)
    return f"{format_date(d, zone, weekday=weekday)} à {format_time(d, zone, space=space)}"


def format_short_date(value, zone: Zone) -> str:
    """``"25/11/2026"``."""
    d = local(value, zone)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def format_month(value, zone: Zone) -> str:
    """``"novembre 2026"`` from a date, datetime, ``"2026-11"`` or ``"2026-11-25"``."""
    if isinstance(value, str):
        m = _MONTH_ONLY.match(value.strip())
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise FormattingError(f"mois invalide {value!r}")
            return f"{MONTHS[month - 1]} {year}"
    d = local(value, zone)
    return f"{MONTHS[d.month - 1]} {d.year}"
