"""Identifiers of professional and association accounts.

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

from . import messages as msg

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
