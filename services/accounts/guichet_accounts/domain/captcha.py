"""Captcha challenges: the text to recognise and how an answer is compared (the media are drawn by adapters).

Seeds 002 (« Saisir le texte de l'image »), 003 (« le cryptogramme ») and 004
(« Recopiez les caractères de l'image »). The alphabet leaves out characters
that look alike (0/O, 1/I). Answers are compared upper-cased and without
spaces. This is a deterrent against naive bots, not a strong captcha.
"""
from __future__ import annotations

import base64
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6


def new_text() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_answer(answer: str | None) -> str:
    return "".join((answer or "").split()).upper()


def checked(text: str) -> str:
    if not text or not set(text) <= set(ALPHABET):
        raise ValueError("a captcha text is made of ALPHABET characters only")
    return text


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
