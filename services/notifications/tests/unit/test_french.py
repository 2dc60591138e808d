"""French formatting of dates and amounts (no locale, Europe/Paris)."""
from datetime import date, datetime, timezone

import pytest

from guichet_notifications.domain import french


@pytest.mark.parametrize("value, expected", [
    ("2026-11-25T13:30:00Z", "mercredi 25 novembre 2026 à 14 h 30"),          # UTC+1 in winter
    ("2026-07-14T08:00:00+00:00", "mardi 14 juillet 2026 à 10 h"),             # UTC+2 in summer, whole hour
    (datetime(2026, 11, 25, 13, 5), "mercredi 25 novembre 2026 à 14 h 05"),    # naive = UTC
    (datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc), "jeudi 26 novembre 2026 à 0 h 30"),  # next day in Paris
    ("2026-06-01T10:00:00+02:00", "lundi 1er juin 2026 à 10 h"),
    ("2026-03-29T00:30:00Z", "dimanche 29 mars 2026 à 1 h 30"),                # before the DST switch
    ("2026-03-29T01:30:00Z", "dimanche 29 mars 2026 à 3 h 30"),                # after it
    ("2026-11-25", "mercredi 25 novembre 2026"),                               # a date stays a date
])
def test_format_datetime(value, expected):
    assert french.format_datetime(value) == expected


def test_format_date_and_short_forms():
    assert french.format_date(date(2026, 12, 1)) == "mardi 1er décembre 2026"
    assert french.format_date("2026-08-15", weekday=False) == "15 août 2026"
    assert french.format_date("2026-11-25T23:30:00Z") == "jeudi 26 novembre 2026"
    assert french.format_short_date("2018-04-30") == "30/04/2018"
    assert french.format_month("2026-02") == "février 2026"
    assert french.format_month(date(2026, 12, 3)) == "décembre 2026"
    assert french.format_time("2026-11-25T08:07:00Z") == "9 h 07"


@pytest.mark.parametrize("cents, expected", [
    (1250, "12,50 €"), (5, "0,05 €"), (0, "0,00 €"), (7560, "75,60 €"), (100000, "1 000,00 €"),
    (123456789, "1 234 567,89 €"), (-305, "-3,05 €"), ("1250", "12,50 €"),
])
def test_format_euros(cents, expected):
    assert french.format_euros(cents) == expected


def test_format_euros_custom_space():
    assert french.format_euros(123456, space="\u00a0") == "1\u00a0234,56\u00a0€"


@pytest.mark.parametrize("bad", [12.5, True, "12,50", None, "douze"])
def test_money_is_integer_cents_only(bad):
    with pytest.raises(french.FormattingError):
        french.format_euros(bad)


@pytest.mark.parametrize("bad", ["hier", "2026-13-45", 12, None, "2026-99"])
def test_bad_dates_raise_formatting_error(bad):
    with pytest.raises(french.FormattingError):
        french.format_datetime(bad) if bad != "2026-99" else french.format_month(bad)
