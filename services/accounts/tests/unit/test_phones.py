import pytest

from guichet_accounts.domain import messages as msg
from guichet_contracts.identifiers import (
    PhoneError,
    is_mobile,
    national_format,
    normalise_mobile,
    normalise_phone,
)


@pytest.mark.parametrize("raw, e164", [
    ("0102030405", "+33102030405"),  # seed 002's example
    ("01 02 03 04 05", "+33102030405"),
    ("01.02.03.04.05", "+33102030405"),
    ("01-02-03-04-05", "+33102030405"),
    ("+33 1 02 03 04 05", "+33102030405"),
    ("+33 (0)1 02 03 04 05", "+33102030405"),
    ("+330102030405", "+33102030405"),
    ("0033 1 02 03 04 05", "+33102030405"),
    ("0606060605", "+33606060605"),  # seed 002's mobile example
    ("07 12 34 56 78", "+33712345678"),
    ("03 20 65 46 00", "+33320654600"),  # Roubaix town hall (seed 000)
    ("09 70 12 34 56", "+33970123456"),
    ("0262 12 34 56", "+262262123456"),  # La Réunion
    ("0692 12 34 56", "+262692123456"),
    ("0269 61 00 00", "+262269610000"),  # Mayotte
    ("0590 12 34 56", "+590590123456"),  # Guadeloupe
    ("0694 12 34 56", "+594694123456"),  # Guyane
    ("0596 12 34 56", "+596596123456"),  # Martinique
    ("+262 692 12 34 56", "+262692123456"),
    ("+33 692 12 34 56", "+262692123456"),
    ("+32 470 12 34 56", "+32470123456"),  # Belgium, next to Roubaix
    ("0032 470 12 34 56", "+32470123456"),
])
def test_normalisation_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "   ", "abc", "0102", "01020304056", "1102030405", "0002030405",
                                 "+33 0 02 03 04 05", "+0 12345678", "+12", "+1234567890123456", "06 12 34 56 7x",
                                 "+262 0692 12 34 5"])
def test_invalid_numbers_in_french(raw):
    with pytest.raises(PhoneError) as error:
        normalise_phone(raw)
    assert str(error.value) == msg.PHONE_INVALID
    assert "(ex. : 0102030405)" in str(error.value)


def test_non_string_is_invalid():
    with pytest.raises(PhoneError):
        normalise_phone(None)


@pytest.mark.parametrize("e164, mobile", [
    ("+33612345678", True), ("+33712345678", True), ("+33102030405", False), ("+33970123456", False),
    ("+262692123456", True), ("+262262123456", False), ("+262639123456", True), ("+590690123456", True),
    ("+596596123456", False), ("+32470123456", True),
])
def test_is_mobile(e164, mobile):
    assert is_mobile(e164) is mobile


def test_mobile_field_refuses_a_landline():
    assert normalise_mobile("06 06 06 06 05") == "+33606060605"
    with pytest.raises(PhoneError) as error:
        normalise_mobile("0102030405")
    assert str(error.value) == msg.MOBILE_INVALID


def test_national_format():
    assert national_format("+33102030405") == "01 02 03 04 05"
    assert national_format("+262692123456") == "06 92 12 34 56"
    assert national_format("+32470123456") == "+32470123456"
