"""What the recovery answers may tell, without I/O (issue 11, account enumeration).

- Every identifier without a security question of its own (an unknown login, or an account that has none) is
  shown a made-up question, always the same for the same identifier: an HMAC of the identifier as typed
  (normalised) under a secret of the service, so nobody can work it out offline and compare it with the
  answer. An account with a question gets its own.
- A town-created account without an email cannot receive a reset link; « mot de passe oublié » answers it as
  it answers an unknown login (the same 200, nothing sent), and the login tells the citizen instead.
"""
from __future__ import annotations

import hashlib
import hmac

from . import messages as msg
from .throttling import normalise_identifier

MADE_UP_QUESTION_SECRET = "security-question"  # the name of the service secret keying the made-up questions


def made_up_question(identifier: str, secret: bytes) -> str:
    """The key of the question shown for ``identifier`` when it has none of its own."""
    keys = sorted(msg.SECURITY_QUESTIONS)
    digest = hmac.new(secret, normalise_identifier(identifier).encode("utf-8"), hashlib.sha256).digest()
    return keys[int.from_bytes(digest[:8], "big") % len(keys)]


def question_shown(own_question: str | None, identifier: str, secret: bytes) -> str:
    return own_question or made_up_question(identifier, secret)


def can_receive_reset_link(row) -> bool:
    """A reset link goes to an account's email; without one (town-created account) there is nowhere to send it."""
    return row is not None and bool(row.email)
