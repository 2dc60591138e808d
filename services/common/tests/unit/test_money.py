"""Money: integer cents, French text, no float."""
from decimal import Decimal

import pytest

from guichet_common import money
from guichet_common.errors import FormattingError, InvalidInput


@pytest.mark.parametrize("cents, expected", [
    (1250, "12,50 €"), (5, "0,05 €"), (0, "0,00 €"), (7560, "75,60 €"), (100000, "1 000,00 €"),
    (123456789, "1 234 567,89 €"), (-305, "-3,05 €"), ("1250", "12,50 €"), (305, "3,05 €"),
])
def test_format_euros(cents, expected):
    assert money.format_euros(cents) == expected


def test_format_euros_with_no_break_spaces_for_html():
    assert money.format_euros(123456, space="\u00a0") == "1\u00a0234,56\u00a0€"


@pytest.mark.parametrize("bad", [12.5, True, "12,50", None, "douze", Decimal("3.05")])
def test_formatting_takes_integer_cents_only(bad):
    with pytest.raises(FormattingError):
        money.format_euros(bad)


@pytest.mark.parametrize("text, cents", [
    ("3,05", 305), ("3.05", 305), ("3,05 €", 305), ("3,05€", 305), ("1 234,50", 123450),
    ("1\u00a0234,50\u00a0€", 123450), ("1\u202f234,50 €", 123450), ("1.234,50", 123450), ("12", 1200),
    ("12,5", 1250), (" 0,10 EUR ", 10), ("2 euros", 200), ("1 000 000", 100000000), ("0", 0),
    ("0,07", 7), ("19,99", 1999), ("1234567,89", 123456789),
])
def test_parse_euros(text, cents):
    assert money.parse_euros(text) == cents
    assert money.parse_euros(money.format_euros(cents)) == cents  # what we write, we read back


@pytest.mark.parametrize("text, message", [
    ("3,055", money.TOO_MANY_DECIMALS), ("1.234", money.TOO_MANY_DECIMALS),
    ("douze", money.INVALID_AMOUNT), ("", money.INVALID_AMOUNT), ("3,", money.INVALID_AMOUNT),
    (",50", money.INVALID_AMOUNT), ("3,0,5", money.INVALID_AMOUNT), ("3.0.5", money.INVALID_AMOUNT),
    ("12 34,50", money.INVALID_AMOUNT), ("1e3", money.INVALID_AMOUNT), ("٣,٠٥", money.INVALID_AMOUNT),
    ("-3,05", money.NEGATIVE_AMOUNT), ("€ 3", money.INVALID_AMOUNT), ("3" * 41, money.INVALID_AMOUNT),
    (3.05, money.INVALID_AMOUNT), (None, money.INVALID_AMOUNT),
])
def test_parse_euros_refuses_in_french(text, message):
    with pytest.raises(FormattingError) as caught:
        money.parse_euros(text)
    assert str(caught.value) == message and isinstance(caught.value, ValueError)


def test_negative_amounts_when_allowed():
    assert money.parse_euros("-3,05 €", allow_negative=True) == -305
    assert money.parse_euros("-0", allow_negative=False) == 0


def test_euros_input_names_the_field():
    assert money.euros_input("3,05", "montant") == 305
    assert money.euros_input(305, "montant") == 305
    with pytest.raises(InvalidInput) as caught:
        money.euros_input("3,055", "montant")
    assert caught.value.errors == {"montant": [money.TOO_MANY_DECIMALS]}
    with pytest.raises(InvalidInput) as caught:
        money.euros_input(-1, "montant")
    assert caught.value.errors == {"montant": [money.NEGATIVE_AMOUNT]}
    with pytest.raises(InvalidInput):
        money.euros_input(True, "montant")


def test_to_decimal_is_exact():
    assert money.to_decimal(305) == Decimal("3.05") and str(money.to_decimal(-5)) == "-0.05"
    assert sum(money.to_decimal(10) for _ in range(3)) == Decimal("0.30")
