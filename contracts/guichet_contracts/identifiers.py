"""French phone numbers, SIRET and RNA numbers: what the field kit's ``Phone``, ``Siret`` and ``Rna`` check.

## Phone numbers

The registration form (seed 002, Saint-Joseph) asks for « Téléphone personnel
(ex. : 0102030405) », « Téléphone portable (ex. : 0606060605) » and
« Téléphone bureau (ex. : 0102030405) ». Numbers are stored in E.164 so that
the notifications service can send SMS without guessing.

Accepted input: the national form (``0102030405``, ``01 02 03 04 05``,
``01.02.03.04.05``, ``01-02-03-04-05``), ``+33 1 02 03 04 05``,
``+33 (0)1 02 03 04 05``, ``0033 1 02 03 04 05``, and any international
number ``+CC…`` of 8 to 15 digits (a Belgian number for a Roubaix family).

Overseas departments are dialled with ten digits in France but have their own
country codes; they are mapped so that SMS gateways route them:
Réunion and Mayotte ``+262`` (0262, 0263, 0269, 0639, 0692, 0693),
Guadeloupe/Saint-Martin/Saint-Barthélemy ``+590`` (0590, 0690, 0691),
Guyane ``+594`` (0594, 0694), Martinique ``+596`` (0596, 0696, 0697).
Saint-Joseph may well be the one of La Réunion.

## SIRET and RNA

Seed 000 (Roubaix) welcomes « un particulier, un professionnel ou une
association »; a professional account carries the establishment's SIRET, an
association its RNA number (Répertoire national des associations).

- SIRET: 14 digits (SIREN 9 + NIC 5) whose Luhn checksum is 0. The one known
  exception is La Poste (SIREN 356 000 000): it has more establishments than
  Luhn-valid NICs, so a La Poste SIRET is also valid when the sum of its 14
  digits is a multiple of 5 (its head office, 356 000 000 00048, passes Luhn). Spaces and dots typed between groups are ignored.
- RNA: ``W`` then 9 characters. The usual form is 9 digits (``W751234567``);
  the three characters after ``W`` are the prefecture's code, which for Corsica
  and some overseas prefectures carries a letter in second position
  (``W2A…``, ``W2B…``, ``W9R…``), so that position accepts a capital letter.
  Input is upper-cased and spaces are ignored.
"""
from __future__ import annotations

import re

from . import french_messages as msg

PHONE_KINDS = ("personal", "mobile", "office")

_OVERSEAS = {  # national prefix (after the 0) -> country code
    "262": "262", "263": "262", "269": "262", "639": "262", "692": "262", "693": "262",
    "590": "590", "690": "590", "691": "590",
    "594": "594", "694": "594",
    "596": "596", "696": "596", "697": "596",
}
_OVERSEAS_CODES = frozenset(_OVERSEAS.values())
_OVERSEAS_MOBILE = frozenset({"639", "692", "693", "690", "691", "694", "696", "697"})
_SEPARATORS = re.compile(r"[\s.\-/()]")
_TRUNK_ZERO = re.compile(r"^\+(33|262|590|594|596)\s*\(0\)")


class PhoneError(ValueError):
    """An unreadable number; ``str(error)`` is the French message."""


def _from_national(nsn: str) -> str:
    """``nsn`` = the 9 digits after the trunk 0."""
    if len(nsn) != 9 or not nsn.isdigit() or nsn[0] == "0":
        raise PhoneError(msg.PHONE_INVALID)
    code = _OVERSEAS.get(nsn[:3], "33")
    return f"+{code}{nsn}"


def normalise_phone(raw: str) -> str:
    """E.164 form of ``raw`` (``+33102030405``), or ``PhoneError`` with a French message."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError(msg.PHONE_INVALID)
    text = _TRUNK_ZERO.sub(r"+\1", raw.strip())
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            raise PhoneError(msg.PHONE_INVALID)
        if digits.startswith("33"):
            nsn = digits[2:]
            return _from_national(nsn[1:] if len(nsn) == 10 and nsn.startswith("0") else nsn)
        for code in _OVERSEAS_CODES:
            if digits.startswith(code) and len(digits) == len(code) + 9:
                nsn = digits[len(code):]
                if nsn[0] == "0":
                    raise PhoneError(msg.PHONE_INVALID)
                return "+" + digits
        if not 8 <= len(digits) <= 15 or digits[0] == "0":
            raise PhoneError(msg.PHONE_INVALID)
        return "+" + digits
    if len(text) == 10 and text.isdigit() and text[0] == "0":
        return _from_national(text[1:])
    raise PhoneError(msg.PHONE_INVALID)


def is_french(e164: str) -> bool:
    return e164.startswith("+33") or any(e164.startswith("+" + c) for c in _OVERSEAS_CODES)


def is_mobile(e164: str) -> bool:
    """A number that can receive SMS. Foreign numbers cannot be told apart and are accepted."""
    if e164.startswith("+33"):
        return e164[3] in "67"
    for code in _OVERSEAS_CODES:
        if e164.startswith("+" + code):
            return e164[1 + len(code):4 + len(code)] in _OVERSEAS_MOBILE
    return True


def normalise_mobile(raw: str) -> str:
    number = normalise_phone(raw)
    if not is_mobile(number):
        raise PhoneError(msg.MOBILE_INVALID)
    return number


def national_format(e164: str) -> str:
    """``+33102030405`` → ``01 02 03 04 05`` for display; foreign numbers unchanged."""
    if not is_french(e164):
        return e164
    nsn = e164[-9:]
    national = "0" + nsn
    return " ".join(national[i:i + 2] for i in range(0, 10, 2))


LA_POSTE_SIREN = "356000000"
_RNA = re.compile(r"^W\d[\dA-Z]\d{7}$")
_IGNORED = re.compile(r"[\s.\u00a0\u202f]")


class IdentifierError(ValueError):
    """An invalid identifier; ``str(error)`` is the French message."""


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def normalise_siret(raw: str) -> str:
    """The 14 digits of a valid SIRET, or ``IdentifierError``."""
    digits = _IGNORED.sub("", raw or "")
    if len(digits) != 14 or not digits.isdigit():
        raise IdentifierError(msg.SIRET_INVALID)
    valid = luhn_valid(digits)
    if not valid and digits.startswith(LA_POSTE_SIREN):
        valid = sum(int(c) for c in digits) % 5 == 0
    if not valid:
        raise IdentifierError(msg.SIRET_CHECKSUM)
    return digits


def is_valid_siret(raw: str) -> bool:
    try:
        normalise_siret(raw)
    except IdentifierError:
        return False
    return True


def normalise_rna(raw: str) -> str:
    """A valid RNA number, upper-case, without spaces, or ``IdentifierError``."""
    value = _IGNORED.sub("", raw or "").upper()
    if not _RNA.match(value):
        raise IdentifierError(msg.RNA_INVALID)
    return value


def is_valid_rna(raw: str) -> bool:
    try:
        normalise_rna(raw)
    except IdentifierError:
        return False
    return True
