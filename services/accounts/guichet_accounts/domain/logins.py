"""The default login (« identifiant ») and the login syntax.

Seed 004 (Quiévrechain, activation): « Un identifiant vous a été attribué par
défaut (prénom.nom), vous pouvez le modifier si vous le souhaitez », with the
example ``pascal.dupin`` for Pascal Dupin.

Proposal rules (decided here, the seed gives only the example):

- ``prenom.nom`` from the first first name and the birth name, lower-case.
- Accents removed by NFKD decomposition (« Éloïse » → ``eloise``); the
  ligatures NFKD keeps are spelt out (œ → ``oe``, æ → ``ae``, ß → ``ss``…).
- Apostrophes disappear (« D'Artagnan » → ``dartagnan``, « N’Diaye » →
  ``ndiaye``): French writes them inside one name.
- Hyphens are kept and spaces become hyphens, so that word boundaries stay
  readable (« Jean-Pierre » → ``jean-pierre``, « De La Fontaine » →
  ``de-la-fontaine``); runs of separators collapse to one.
- Anything else is dropped, leaving only ``[a-z0-9.-]``.
- If one part is empty after cleaning (a name in another script), the other
  part alone is used; if both are, ``usager``; a login still shorter than 3
  characters gets ``.usager`` appended (« Li » → ``li.usager``).
- At most 64 characters; made unique with a caller-supplied ``is_taken``
  predicate by appending 2, 3, … (``pascal.dupin``, ``pascal.dupin2``…).

Login syntax (for a login the citizen types): case-insensitive (stored lower
case), 3 to 64 characters among ``a-z 0-9 . - _``, starting and ending with a
letter or digit, no two separators in a row. ``@`` is not allowed, so that a
login can never be mistaken for an email at login time.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from . import messages as msg

MIN_LENGTH = 3
MAX_LENGTH = 64
FALLBACK = "usager"

_SPELLED_OUT = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
                "ł": "l", "Ł": "l", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"}
_APOSTROPHES = "'’ʼ‘`´"
_SPACES_AND_DASHES = re.compile(r"[\s\-‐‑‒–—_]+")
_NOT_ALLOWED = re.compile(r"[^a-z0-9\-]")
_DASH_RUNS = re.compile(r"-{2,}")
_LOGIN_CHARS = re.compile(r"^[a-z0-9._-]+$")
_DOUBLE_SEPARATOR = re.compile(r"[._-]{2}")


def remove_accents(text: str) -> str:
    text = "".join(_SPELLED_OUT.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slug_part(name: str | None) -> str:
    """One half of ``prenom.nom``: lower-case ASCII letters, digits and single hyphens."""
    if not name:
        return ""
    text = remove_accents(name).lower()
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "")
    text = _SPACES_AND_DASHES.sub("-", text)
    text = _NOT_ALLOWED.sub("", text)
    text = _DASH_RUNS.sub("-", text)
    return text.strip("-")


def base_login(first_name: str | None, last_name: str | None) -> str:
    first, last = slug_part(first_name), slug_part(last_name)
    login = ".".join(part for part in (first, last) if part) or FALLBACK
    if len(login) < MIN_LENGTH:  # a single very short part, e.g. only « Li »
        login = f"{login}.{FALLBACK}"
    if len(login) > MAX_LENGTH:
        login = login[:MAX_LENGTH].rstrip(".-")
    return login


def propose_login(first_name: str | None, last_name: str | None, is_taken: Callable[[str], bool]) -> str:
    """``prenom.nom``, or ``prenom.nom2``, ``prenom.nom3``… the first one ``is_taken`` says is free."""
    base = base_login(first_name, last_name)
    if not is_taken(base):
        return base
    n = 2
    while True:
        suffix = str(n)
        candidate = base[:MAX_LENGTH - len(suffix)].rstrip(".-") + suffix
        if not is_taken(candidate):
            return candidate
        n += 1


def normalise_login(login: str) -> str:
    """Logins are case-insensitive: compare and store them stripped and lower-cased."""
    return login.strip().lower()


def check_login(login: str) -> list[str]:
    """Every syntax rule ``login`` breaks (after ``normalise_login``), as French messages."""
    login = normalise_login(login) if isinstance(login, str) else ""
    problems: list[str] = []
    if len(login) < MIN_LENGTH:
        problems.append(msg.LOGIN_TOO_SHORT.format(min=MIN_LENGTH))
    if len(login) > MAX_LENGTH:
        problems.append(msg.LOGIN_TOO_LONG.format(max=MAX_LENGTH))
    if login and not _LOGIN_CHARS.match(login):
        problems.append(msg.LOGIN_FORBIDDEN_CHARACTERS)
    if login and (login[0] in "._-" or login[-1] in "._-"):
        problems.append(msg.LOGIN_BAD_EDGES)
    if _DOUBLE_SEPARATOR.search(login):
        problems.append(msg.LOGIN_CONSECUTIVE_SEPARATORS)
    return problems


def looks_like_email(identifier: str) -> bool:
    """At login the citizen types a login or an email; a login never contains ``@``."""
    return "@" in identifier
