"""SMS text encoding, segment counting and French phone numbers.

Encoding (3GPP TS 23.038)
    A message is sent in the GSM 7-bit default alphabet when every character
    is in its basic table (1 septet) or extension table (2 septets: escape +
    character), otherwise in UCS-2 (UTF-16 code units; a character outside the
    BMP, such as most emoji, takes 2 units).

Segments (3GPP TS 23.040, concatenated SMS with an 8-bit UDH)
    GSM-7: 160 septets in a single message, 153 per segment beyond.
    UCS-2: 70 units in a single message, 67 per segment beyond.
    An escape sequence or a surrogate pair is never split between two
    segments, so segments are filled greedily as handsets and providers do.

Preparing text (:func:`prepare_text`)
    Always: invisible or typographic characters that would force UCS-2 for no
    visible gain are replaced (no-break and thin spaces, curly quotes,
    guillemets, dashes, ellipsis, zero-width characters; CRLF becomes LF).
    When the town allows it (``transliterate=True``): French accented letters
    that are not in GSM-7 lose their accent (ê→e, ç→c, œ→oe, À→A). é è ù ì ò à
    É Ç are in the GSM-7 basic table and are kept.

Phone numbers (:func:`normalise_phone`)
    French numbers in any usual writing (``06 12 34 56 78``, ``+33 (0)6…``,
    ``0033…``) become E.164. Overseas mobile ranges of the French numbering
    plan get their own country code (0692 → +262 692, 0696 → +596 696, …). An
    SMS needs a mobile number (06 / 07 and the overseas mobile ranges); a bad
    number raises :class:`InvalidPhoneNumber`, whose ``code`` is a permanent
    failure reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# --- GSM 03.38 ----------------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 127 printable characters of the basic table (the escape code excluded)."""

GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""Characters of the extension table: each costs 2 septets (escape + code)."""

GSM7 = "GSM-7"
UCS2 = "UCS-2"

SINGLE_LIMITS = {GSM7: 160, UCS2: 70}
SEGMENT_LIMITS = {GSM7: 153, UCS2: 67}

DEFAULT_MAX_SEGMENTS = 6
"""GOV.UK Notify's ceiling (918 GSM-7 characters); the town settings may change it."""

# Replaced whatever the settings: they look the same (or are invisible) and would
# otherwise switch a whole message to UCS-2, i.e. up to 2.3 times the price.
_ALWAYS = {
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ",
    "\u2008": " ", "\u205f": " ", "\u3000": " ", "\t": " ",
    "\u200b": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
}

# French (and common Latin) letters outside GSM-7, replaced only when allowed.
_TRANSLITERATION = {
    "À": "A", "Á": "A", "Â": "A", "Ã": "A",
    "á": "a", "â": "a", "ã": "a",
    "ç": "c",
    "È": "E", "Ê": "E", "Ë": "E",
    "ê": "e", "ë": "e",
    "Ì": "I", "Í": "I", "Î": "I", "Ï": "I",
    "í": "i", "î": "i", "ï": "i",
    "Ò": "O", "Ó": "O", "Ô": "O", "Õ": "O",
    "ó": "o", "ô": "o", "õ": "o",
    "Ù": "U", "Ú": "U", "Û": "U",
    "ú": "u", "û": "u",
    "Ÿ": "Y", "ÿ": "y",
    "Œ": "OE", "œ": "oe",
}

_GUILLEMETS = re.compile(r"«\s*|\s*»|‹\s*|\s*›")


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The distinct characters that force UCS-2, in order of appearance."""
    seen: list[str] = []
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION and ch not in seen:
            seen.append(ch)
    return seen


def prepare_text(text: str, *, transliterate: bool = False) -> str:
    """Normalise a rendered SMS (see the module documentation)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _GUILLEMETS.sub('"', text)
    text = "".join(_ALWAYS.get(ch, ch) for ch in text)
    if transliterate:
        text = "".join(_TRANSLITERATION.get(ch, ch) for ch in text)
    return text


def _gsm7_weights(text: str) -> list[int]:
    return [2 if ch in GSM7_EXTENSION else 1 for ch in text]


def _ucs2_weights(text: str) -> list[int]:
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _count_segments(weights: list[int], single: int, per_segment: int) -> int:
    total = sum(weights)
    if total <= single:
        return 1
    segments, used = 1, 0
    for w in weights:
        if used + w > per_segment:  # never split an escape sequence / surrogate pair
            segments += 1
            used = 0
        used += w
    return segments


@dataclass(frozen=True)
class SmsInfo:
    """What a text costs: encoding, length in encoding units and segments."""

    text: str
    encoding: str
    characters: int
    units: int
    segments: int
    non_gsm7: tuple[str, ...] = ()

    @property
    def units_per_segment(self) -> int:
        return SINGLE_LIMITS[self.encoding] if self.segments == 1 else SEGMENT_LIMITS[self.encoding]


def analyse(text: str) -> SmsInfo:
    """Encoding, units (septets or UTF-16 code units) and segment count of ``text``.

    ``text`` is analysed as given; call :func:`prepare_text` first to get what
    will actually be sent.
    """
    if not text:
        return SmsInfo(text, GSM7, 0, 0, 0)
    bad = non_gsm7_characters(text)
    if not bad:
        weights = _gsm7_weights(text)
        encoding = GSM7
    else:
        weights = _ucs2_weights(text)
        encoding = UCS2
    segments = _count_segments(weights, SINGLE_LIMITS[encoding], SEGMENT_LIMITS[encoding])
    return SmsInfo(text, encoding, len(text), sum(weights), segments, tuple(bad))


class SmsTooLong(ValueError):
    code = "message_too_long"

    def __init__(self, info: SmsInfo, max_segments: int):
        self.info = info
        self.max_segments = max_segments
        super().__init__(f"SMS trop long : {info.segments} segments {info.encoding} "
                         f"({info.characters} caractères), maximum {max_segments}")


def check_length(info: SmsInfo, max_segments: int = DEFAULT_MAX_SEGMENTS) -> SmsInfo:
    """``info`` unchanged, or :class:`SmsTooLong` (a permanent failure: the content is the problem)."""
    if info.segments > max_segments:
        raise SmsTooLong(info, max_segments)
    if info.segments == 0:
        raise ValueError("SMS vide")
    return info


# --- French phone numbers -------------------------------------------------------

class InvalidPhoneNumber(ValueError):
    """``code`` is stable (a permanent failure reason), ``str()`` is French.

    The number itself is never part of the message: reasons end up in logs.
    """

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


# National prefixes of the overseas departments in the French numbering plan
# (ARCEP): prefix -> (country code, is a mobile range).
_OVERSEAS = {
    "0639": ("262", True),   # Mayotte mobiles
    "0690": ("590", True), "0691": ("590", True),  # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "0692": ("262", True), "0693": ("262", True),  # La Réunion
    "0694": ("594", True),   # Guyane
    "0696": ("596", True), "0697": ("596", True),  # Martinique
    "0262": ("262", False), "0263": ("262", False), "0269": ("262", False),
    "0590": ("590", False), "0594": ("594", False), "0596": ("596", False),
}
_OVERSEAS_CODES = {"262", "590", "594", "596"}
_SEPARATORS = re.compile(r"[\s.\-/()\u00a0\u202f]")


def _national_to_e164(national: str, *, mobile_only: bool) -> str:
    if not re.fullmatch(r"0[1-9]\d{8}", national):
        raise InvalidPhoneNumber("invalid_phone_number", "Numéro de téléphone invalide (10 chiffres attendus)")
    overseas = _OVERSEAS.get(national[:4])
    if overseas:
        country, mobile = overseas
        if mobile_only and not mobile:
            raise InvalidPhoneNumber("not_a_mobile_number",
                                     "Le numéro n'est pas un numéro de mobile : un SMS ne peut pas y être envoyé")
        return f"+{country}{national[1:]}"
    if mobile_only and national[1] not in "67":
        raise InvalidPhoneNumber("not_a_mobile_number", "Le numéro n'est pas un numéro de mobile (06 ou 07) : "
                                                        "un SMS ne peut pas y être envoyé")
    return f"+33{national[1:]}"


def normalise_phone(raw, *, mobile_only: bool = True, allow_international: bool = False) -> str:
    """E.164 form of a phone number (``"+33612345678"``) or :class:`InvalidPhoneNumber`.

    ``mobile_only``: refuse numbers that cannot receive an SMS (landlines,
    special numbers). ``allow_international``: accept other countries' numbers
    given with their ``+`` / ``00`` prefix (border towns, citizens abroad);
    they can only be checked for length.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("invalid_phone_number", "Numéro de téléphone manquant")
    text = raw.strip().replace("(0)", "")
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d+", text):
        raise InvalidPhoneNumber("invalid_phone_number", "Numéro de téléphone invalide (caractères non numériques)")
    if not text.startswith("+"):
        if len(text) == 11 and text.startswith("33"):
            text = "+" + text
        else:
            return _national_to_e164(text, mobile_only=mobile_only)
    digits = text[1:]
    for country in ("33", *_OVERSEAS_CODES):
        if digits.startswith(country):
            national = "0" + digits[len(country):]
            if len(national) != 10:
                raise InvalidPhoneNumber("invalid_phone_number", "Numéro de téléphone invalide (longueur incorrecte)")
            if country != "33" and _OVERSEAS.get(national[:4], (None,))[0] != country:
                # Not a French-plan overseas range: treat as any foreign number.
                break
            return _national_to_e164(national, mobile_only=mobile_only)
    if not 8 <= len(digits) <= 15 or digits[0] == "0":
        raise InvalidPhoneNumber("invalid_phone_number", "Numéro de téléphone international invalide")
    if not allow_international:
        raise InvalidPhoneNumber("international_not_allowed",
                                 "Les numéros étrangers ne sont pas acceptés pour l'envoi de SMS")
    return text
