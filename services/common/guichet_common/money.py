"""Money: integer cents everywhere, French text at the edges ("3,05 €"), never a float.

    format_euros(305)            -> "3,05 €"
    format_euros(123456)         -> "1 234,56 €"   (space=NBSP for HTML)
    parse_euros("1 234,50 €")    -> 123450          (also "3,05", "3.05", "1.234,50", "12")
    euros_input(value, "montant") -> cents, or InvalidInput {"montant": [French message]}

Amounts are computed with ``Decimal`` and stored as integer cents.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .errors import FormattingError, InvalidInput

__all__ = ["FormattingError", "parse_cents", "format_euros", "parse_euros", "euros_input", "to_decimal",
           "INVALID_AMOUNT", "TOO_MANY_DECIMALS", "NEGATIVE_AMOUNT"]

INVALID_AMOUNT = "Montant invalide : écrivez par exemple 3,05 ou 1 234,50 €."
TOO_MANY_DECIMALS = "Un montant a au plus deux chiffres après la virgule."
NEGATIVE_AMOUNT = "Le montant ne peut pas être négatif."

_SPACES = " \u00a0\u202f"  # space, no-break space, narrow no-break space (thousands separators)
_CURRENCY = re.compile(r"\s*(€|eur|euros?)$", re.IGNORECASE)
_GROUPED = re.compile(rf"^\d{{1,3}}(?:[{_SPACES}]\d{{3}})+$")
_DOTTED = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_MAX_LENGTH = 40


def parse_cents(value) -> int:
    """An amount already in integer cents: an ``int`` or a string of digits (optional minus sign).

    Floats and booleans are refused: money never travels as a float."""
    if isinstance(value, bool):
        raise FormattingError("montant en centimes (entier) attendu, reçu un booléen")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise FormattingError(f"montant en centimes (entier) attendu, reçu {type(value).__name__}")


def _group_thousands(digits: str, sep: str) -> str:
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return sep.join(groups)


def format_euros(value, *, space: str = " ") -> str:
    """``"12,50 €"``, ``"1 234,56 €"``, ``"-3,05 €"`` from integer cents.

    ``space`` goes between thousands groups and before the euro sign (a no-break space in HTML)."""
    cents = parse_cents(value)
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{_group_thousands(str(euros), space)},{rest:02d}{space}€"


def to_decimal(cents: int) -> Decimal:
    """Euros as an exact ``Decimal`` (for exports and computations), from integer cents."""
    return Decimal(parse_cents(cents)).scaleb(-2)


def _split(text: str) -> tuple[str, str]:
    """The whole euros (thousands separators removed) and the decimals ("00" when none) of ``text``."""
    if "," in text:
        whole, _, decimals = text.rpartition(",")
        if _DOTTED.match(whole):  # "1.234,50": dots group the thousands
            whole = whole.replace(".", "")
    elif text.count(".") == 1:
        whole, _, decimals = text.partition(".")
    else:
        whole, decimals = text, "00"
    if _GROUPED.match(whole):
        whole = "".join(c for c in whole if c not in _SPACES)
    if not (whole.isascii() and whole.isdigit() and decimals.isascii() and decimals.isdigit()):
        raise FormattingError(INVALID_AMOUNT)
    return whole, decimals


def parse_euros(text, *, allow_negative: bool = False) -> int:
    """Integer cents from what a person writes: "3,05", "3.05", "3,05 €", "1 234,50", "1.234,50", "12".

    Raises :class:`FormattingError` (a ``ValueError``) with a French message."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        raise FormattingError(INVALID_AMOUNT)
    cleaned = _CURRENCY.sub("", text.strip()).strip()
    negative = cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:].strip()
    whole, decimals = _split(cleaned)
    if len(decimals) > 2:
        raise FormattingError(TOO_MANY_DECIMALS)
    cents = int(Decimal(f"{whole}.{decimals}").scaleb(2))
    if negative and cents:
        if not allow_negative:
            raise FormattingError(NEGATIVE_AMOUNT)
        cents = -cents
    return cents


def euros_input(value, field: str, *, allow_negative: bool = False) -> int:
    """A form's amount in integer cents, or :class:`InvalidInput` naming ``field``.

    An ``int`` is taken as cents already; text is parsed by :func:`parse_euros`."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 and not allow_negative:
                raise FormattingError(NEGATIVE_AMOUNT)
            return value
        return parse_euros(value, allow_negative=allow_negative)
    except FormattingError as error:
        raise InvalidInput(errors={field: [str(error)]}) from None
