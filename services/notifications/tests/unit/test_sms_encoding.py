"""GSM-7 / UCS-2 detection, segment counting, text preparation, French phone numbers."""
import pytest

from guichet_notifications.domain import sms
from guichet_notifications.domain.sms import InvalidPhoneNumber, analyse, normalise_phone

# --- alphabet ------------------------------------------------------------------------

def test_french_letters_of_the_basic_table():
    assert sms.is_gsm7("é è ù ì ò à É Ç ä ö ü Ä Ö Ü ñ Ñ ß £ $ @ ¿ ¡ § ¤ _ \n")
    for letter in "çâêîôûëïœÀÂÈÊÎÔÙÛŒ«»°’":
        assert not sms.is_gsm7(letter), letter


def test_basic_table_has_127_printable_characters():
    assert len(sms.GSM7_BASIC) == 127
    assert sms.GSM7_EXTENSION == frozenset("\f^{}\\[~]|€")


# --- segments --------------------------------------------------------------------------

@pytest.mark.parametrize("length, segments", [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm7_segments(length, segments):
    info = analyse("a" * length)
    assert (info.encoding, info.units, info.segments) == (sms.GSM7, length, segments)


@pytest.mark.parametrize("length, segments", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments(length, segments):
    info = analyse("ç" * length)
    assert (info.encoding, info.units, info.segments) == (sms.UCS2, length, segments)


def test_euro_sign_counts_two_septets():
    assert analyse("a" * 158 + "€").segments == 1
    info = analyse("a" * 159 + "€")
    assert (info.encoding, info.characters, info.units, info.segments) == (sms.GSM7, 160, 161, 2)
    assert analyse("[" * 80).units == 160 and analyse("[" * 80).segments == 1
    assert analyse("{" * 81).segments == 2


def test_escape_sequence_never_split_between_segments():
    # 152 + 2 + 152 = 306 septets would fit in two 153-septet segments if the
    # euro sign could be split; it cannot, so it opens the second segment
    assert analyse("a" * 152 + "€" + "a" * 151).segments == 2
    assert analyse("a" * 152 + "€" + "a" * 152).segments == 3


def test_emoji_forces_ucs2_and_counts_two_units():
    info = analyse("Bonjour 😀")
    assert (info.encoding, info.characters, info.units) == (sms.UCS2, 9, 10)
    assert info.non_gsm7 == ("😀",)
    assert analyse("a" * 69 + "😀").segments == 2       # 71 units
    assert analyse("a" * 66 + "😀" + "a" * 66).segments == 3  # the pair opens segment 2 (66+2 > 67)


def test_one_non_gsm_character_switches_the_whole_message():
    text = "a" * 100 + "ê"
    assert analyse(text).encoding == sms.UCS2 and analyse(text).segments == 2
    assert analyse("").segments == 0


def test_check_length():
    assert sms.check_length(analyse("a" * 918)).segments == 6
    with pytest.raises(sms.SmsTooLong) as info:
        sms.check_length(analyse("a" * 919))
    assert info.value.code == "message_too_long"


# --- preparation -----------------------------------------------------------------------

def test_prepare_always_normalises_typography():
    text = "L’école « Jean\u00a0Moulin » : 9\u202fh – fin…\r\nSuite\u200b"
    assert sms.prepare_text(text) == "L'école \"Jean Moulin\" : 9 h - fin...\nSuite"
    assert sms.is_gsm7(sms.prepare_text(text))


def test_transliteration_only_when_allowed():
    text = "Fête à Noël, garçon, cœur, À bientôt, ÉCOLE"
    assert sms.prepare_text(text) == text
    prepared = sms.prepare_text(text, transliterate=True)
    assert prepared == "Fete à Noel, garcon, coeur, A bientot, ÉCOLE"
    assert sms.is_gsm7(prepared)


# --- phone numbers -------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "06 12 34 56 78", "0612345678", "06.12.34.56.78", "06-12-34-56-78", " 06 12 34 56 78 ",
    "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", "+33612345678", "0033 6 12 34 56 78", "33612345678",
    "06\u00a012\u00a034\u00a056\u00a078",
])
def test_french_mobile_to_e164(raw):
    assert normalise_phone(raw) == "+33612345678"


@pytest.mark.parametrize("raw, expected", [
    ("07 81 23 45 67", "+33781234567"),
    ("0692 12 34 56", "+262692123456"),      # La Réunion
    ("+262 692 12 34 56", "+262692123456"),
    ("+33 6 92 12 34 56", "+262692123456"),  # written with +33 by mistake: routed to Réunion
    ("0639 12 34 56", "+262639123456"),      # Mayotte
    ("0690 12 34 56", "+590690123456"),      # Guadeloupe
    ("0694 12 34 56", "+594694123456"),      # Guyane
    ("0696 12 34 56", "+596696123456"),      # Martinique
])
def test_mobile_ranges(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["01 02 03 04 05", "03 20 65 46 00", "09 51 00 00 00", "08 00 00 00 00",
                                 "0262 12 34 56"])
def test_landlines_cannot_receive_sms(raw):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise_phone(raw)
    assert info.value.code == "not_a_mobile_number"
    assert normalise_phone(raw, mobile_only=False).startswith("+")


def test_landline_allowed_when_not_for_sms():
    assert normalise_phone("03 20 65 46 00", mobile_only=False) == "+33320654600"
    assert normalise_phone("0262 12 34 56", mobile_only=False) == "+262262123456"


@pytest.mark.parametrize("raw", [None, "", "   ", "abc", "06 12 34", "06123456789", "0012", "06 12 34 56 7a",
                                 "+33 6 12 34", "612345678", "+", 612345678])
def test_invalid_numbers(raw):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise_phone(raw)
    assert info.value.code == "invalid_phone_number"


def test_foreign_numbers_only_when_the_town_allows_them():
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise_phone("+32 470 12 34 56")
    assert info.value.code == "international_not_allowed"
    assert normalise_phone("+32 470 12 34 56", allow_international=True) == "+32470123456"
    assert normalise_phone("0032 470 12 34 56", allow_international=True) == "+32470123456"
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone("+32 47", allow_international=True)


def test_failure_reason_does_not_contain_the_number():
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise_phone("03 20 65 46 00")
    assert "20" not in str(info.value) and "mobile" in str(info.value)
