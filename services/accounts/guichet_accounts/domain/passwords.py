"""Password policy, common-password refusal and argon2id hashing.

Policy (seed 004, Quiévrechain, activation page): « Le mot de passe doit
contenir au minimum 8 caractères avec un caractère majuscule, un caractère
minuscule et un chiffre. Les caractères accentués ne sont pas acceptés. Les
symboles suivants sont acceptés ! + @ # $ % ^ & * () ». Saint-Joseph (seed
002) asks for « Au moins huit caractères », which the stricter rule includes.

Decisions:

- "Majuscule" and "minuscule" mean the unaccented letters A-Z / a-z: accented
  letters are refused anyway, so they cannot satisfy a rule.
- An accented letter (é, ç, œ, Å…) gets the seed's own sentence « Les
  caractères accentués ne sont pas acceptés. »; any other character outside
  letters, digits and the accepted symbols (space, ``-``, ``_``, ``€``, ``ж``,
  an emoji…) gets « … caractère non accepté. Les symboles suivants sont
  acceptés … ».
- Common passwords: ``common_passwords.txt`` (see ``scripts/build_common_passwords.py``),
  matched case-insensitively, also once the accepted symbols at either end are
  stripped (``Azerty123!`` is ``azerty123``).
- The password may neither contain the login nor the email's local part
  (case-insensitive, from 3 characters), nor a 4+ character part of the login
  (``pascal.dupin`` → ``pascal``, ``dupin``).
- At most 128 characters, so hashing cannot be used to exhaust the server.
- Every unmet rule is reported, in the order of the seed sentence.
"""
from __future__ import annotations

import re
import secrets
import string
import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import messages as msg

MIN_LENGTH = 8  # seed: 004
MAX_LENGTH = 128
ACCEPTED_SYMBOLS = frozenset("!+@#$%^&*()")  # seed: 004
_LIGATURES = frozenset("œŒæÆßøØðÐþÞłŁđĐı")  # letters NFKD does not reduce to a base letter + accent
_SEPARATORS = re.compile(r"[._\-]+")
_MIN_CONTEXT_LENGTH = 3
_MIN_LOGIN_PART_LENGTH = 4


def is_accented(char: str) -> bool:
    """A Latin letter carrying an accent, a cedilla, or a ligature (é, ç, Å, œ, ß…)."""
    if char.isascii():
        return False
    if char in _LIGATURES:
        return True
    decomposed = unicodedata.normalize("NFKD", char)
    base = decomposed[0]
    return (base.isascii() and base.isalpha()
            and any(unicodedata.combining(c) for c in decomposed[1:]))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    lowered = password.strip().lower()
    symbols = "".join(sorted(ACCEPTED_SYMBOLS))
    candidates = {lowered, lowered.strip(symbols), lowered.rstrip(symbols), lowered.lstrip(symbols)}
    known = common_passwords()
    return any(c in known for c in candidates if c)


def _context_words(login: str | None, email: str | None) -> tuple[list[str], list[str]]:
    login_words: list[str] = []
    if login:
        login = login.strip().lower()
        if len(login) >= _MIN_CONTEXT_LENGTH:
            login_words.append(login)
        login_words += [p for p in _SEPARATORS.split(login) if len(p) >= _MIN_LOGIN_PART_LENGTH]
    email_words: list[str] = []
    if email and "@" in email:
        local = email.strip().lower().rsplit("@", 1)[0]
        if len(local) >= _MIN_CONTEXT_LENGTH:
            email_words.append(local)
    return login_words, email_words


def check_password(password: str, *, login: str | None = None, email: str | None = None) -> list[str]:
    """Every rule ``password`` does not meet, as French messages; ``[]`` when it is acceptable."""
    if not isinstance(password, str):
        return [msg.PASSWORD_TOO_SHORT]
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(msg.PASSWORD_TOO_SHORT)
    if len(password) > MAX_LENGTH:
        problems.append(msg.PASSWORD_TOO_LONG.format(max=MAX_LENGTH))
    if not any("A" <= c <= "Z" for c in password):
        problems.append(msg.PASSWORD_NEEDS_UPPER)
    if not any("a" <= c <= "z" for c in password):
        problems.append(msg.PASSWORD_NEEDS_LOWER)
    if not any("0" <= c <= "9" for c in password):
        problems.append(msg.PASSWORD_NEEDS_DIGIT)
    if any(is_accented(c) for c in password):
        problems.append(msg.PASSWORD_NO_ACCENTS)
    if any(not (c.isascii() and c.isalnum()) and c not in ACCEPTED_SYMBOLS and not is_accented(c)
           for c in password):
        problems.append(msg.PASSWORD_FORBIDDEN_CHARACTER)
    if password and is_common(password):
        problems.append(msg.PASSWORD_TOO_COMMON)
    lowered = password.lower()
    login_words, email_words = _context_words(login, email)
    if any(word in lowered for word in login_words):
        problems.append(msg.PASSWORD_CONTAINS_LOGIN)
    if any(word in lowered for word in email_words):
        problems.append(msg.PASSWORD_CONTAINS_EMAIL)
    return problems


def check_password_confirmation(password: str, confirmation: str) -> list[str]:
    return [] if password == confirmation else [msg.PASSWORD_CONFIRMATION_MISMATCH]


# --------------------------------------------------------------------------
# Hashing (argon2id, argon2-cffi's RFC 9106 low-memory defaults)
# --------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    return (hasher or _hasher).hash(password)


def verify_password(stored_hash: str, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """True when ``password`` matches; False for a mismatch or an unreadable hash (never raises)."""
    try:
        return (hasher or _hasher).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, *, hasher: PasswordHasher | None = None) -> bool:
    """True when the hash was made with other parameters than today's (rehash after a good login)."""
    try:
        return (hasher or _hasher).check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


_dummy_hashes: dict[tuple, str] = {}


def verify_against_nothing(password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Spend the time of a real verification when the account does not exist; always False.

    The login path calls this for an unknown login or email so that its answer
    time does not reveal whether an account exists.
    """
    h = hasher or _hasher
    key = (h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len, h.type)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = h.hash("guichet-dummy-password")
    verify_password(_dummy_hashes[key], password, hasher=h)
    return False


# --------------------------------------------------------------------------
# Security question answers (seed 002, seed 003)
# --------------------------------------------------------------------------

def normalise_security_answer(answer: str) -> str:
    """Case, accents and spacing do not matter: « Médor » = « medor » = «  MEDOR »."""
    text = unicodedata.normalize("NFKD", answer)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def hash_security_answer(answer: str, *, hasher: PasswordHasher | None = None) -> str:
    return hash_password(normalise_security_answer(answer), hasher=hasher)


def verify_security_answer(stored_hash: str, answer: str, *, hasher: PasswordHasher | None = None) -> bool:
    return verify_password(stored_hash, normalise_security_answer(answer), hasher=hasher)


def generate_password(length: int = 14) -> str:
    """A password that passes the seed 004 policy (upper, lower, digit, symbol): agents' and provisioned
    accounts' first password, printed once."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 1)) + secrets.choice("!+@#$%^&*")
        if check_password(body) == []:
            return body
