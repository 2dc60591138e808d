"""French dates in the town's time zone (the same strings notifications and accounts show)."""
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from guichet_common import clock

PARIS = ZoneInfo("Europe/Paris")


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
def test_format_datetime_in_paris(value, expected):
    assert clock.format_datetime(value, PARIS) == expected
    assert clock.format_datetime(value, "Europe/Paris") == expected


def test_another_zone_gives_another_day_and_hour():
    assert clock.format_datetime("2026-11-25T22:30:00Z", "Indian/Reunion") == "jeudi 26 novembre 2026 à 2 h 30"
    assert clock.format_datetime("2026-11-25T22:30:00Z", "America/Cayenne") == "mercredi 25 novembre 2026 à 19 h 30"


def test_format_date_and_short_forms():
    assert clock.format_date(date(2026, 12, 1), PARIS) == "mardi 1er décembre 2026"
    assert clock.format_date("2026-08-15", PARIS, weekday=False) == "15 août 2026"
    assert clock.format_date("2026-11-25T23:30:00Z", PARIS) == "jeudi 26 novembre 2026"
    assert clock.format_short_date("2018-04-30", PARIS) == "30/04/2018"
    assert clock.format_month("2026-02", PARIS) == "février 2026"
    assert clock.format_month(date(2026, 12, 3), PARIS) == "décembre 2026"
    assert clock.format_time("2026-11-25T08:07:00Z", PARIS) == "9 h 07"
    assert clock.format_time(time(9, 0), PARIS) == "9 h"
    assert clock.format_datetime("2026-11-25T13:30:00Z", PARIS, space="\u00a0").endswith("14\u00a0h\u00a030")


def test_the_last_login_label_parts():
    """accounts' « Dernière connexion le 10/07/2017 à 16:13 »."""
    summer = datetime(2017, 7, 10, 14, 13, tzinfo=timezone.utc)
    assert (clock.format_short_date(summer, PARIS), clock.format_clock_time(summer, PARIS)) == ("10/07/2017", "16:13")
    winter_naive = datetime(2017, 1, 10, 15, 3)
    assert (clock.format_short_date(winter_naive, PARIS), clock.format_clock_time(winter_naive, PARIS)) == (
        "10/01/2017", "16:03")


def test_local_converts_datetimes_and_keeps_dates():
    assert clock.local("2026-07-14T08:00:00Z", PARIS) == datetime(2026, 7, 14, 10, 0, tzinfo=PARIS)
    assert clock.local(date(2026, 7, 14), PARIS) == date(2026, 7, 14)


@pytest.mark.parametrize("bad", ["hier", "2026-13-45", 12, None])
def test_bad_dates_raise_formatting_error(bad):
    with pytest.raises(clock.FormattingError):
        clock.format_datetime(bad, PARIS)


@pytest.mark.parametrize("bad", ["2026-99", "2026-00"])
def test_bad_months_raise_formatting_error(bad):
    with pytest.raises(clock.FormattingError):
        clock.format_month(bad, PARIS)


def test_a_date_has_no_time():
    with pytest.raises(clock.FormattingError, match="heure attendue"):
        clock.format_time("2026-11-25", PARIS)


def test_the_town_zone_comes_from_the_town_settings(tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text("name: Saint-Denis\ninsee_code: '97411'\ntimezone: Indian/Reunion\n", encoding="utf-8")
    assert clock.town_zone({"GUICHET_TOWN_SETTINGS": str(path)}) == ZoneInfo("Indian/Reunion")
    assert clock.town_zone({}) == PARIS  # the demo town
