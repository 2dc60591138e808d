"""Captcha challenges: a PNG image and its audio alternative in French, drawn by the ``captcha`` library.

Seeds 002 (« Saisir le texte de l'image »), 003 (« le cryptogramme ») and 004
(« Recopiez les caractères de l'image »). The alphabet leaves out characters
that look alike (0/O, 1/I). The audio spells the same characters with French
voice clips made by espeak-ng (``data/voices/<character>/fr.wav``, regenerated
by ``scripts/make_captcha_voices.py``). Answers are compared upper-cased and
without spaces. This is a deterrent against naive bots, not a strong captcha.
"""
from __future__ import annotations

import base64
import secrets
from pathlib import Path

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha, random_color

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6
WIDTH, HEIGHT = 240, 90

# One directory per character of ALPHABET, each with WAV clips of that character spoken in French:
# mono, 8000 Hz, 8-bit unsigned PCM, the format AudioCaptcha reads and writes (it mixes raw bytes).
VOICES_DIR = Path(__file__).resolve().parent.parent / "data" / "voices"

_image = ImageCaptcha(width=WIDTH, height=HEIGHT)  # fonts are loaded at the first image
_audio = AudioCaptcha(voicedir=str(VOICES_DIR))
_audio.load()  # the 32 small clips now, not lazily in whichever OS thread renders the first audio


def new_text() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_answer(answer: str | None) -> str:
    return "".join((answer or "").split()).upper()


def _checked(text: str) -> str:
    if not text or not set(text) <= set(ALPHABET):
        raise ValueError("a captcha text is made of ALPHABET characters only")
    return text


def render_png(text: str) -> bytes:
    """The distorted image of ``text`` (WIDTH × HEIGHT pixels, PNG)."""
    # Darker text than the library's default range (channels 10..200), which can come out pale on its light
    # background (238..255): the noise is meant for bots, not for people with low vision.
    ink = random_color(10, 110, 255)
    return _image.generate(_checked(text), format="png", fg_color=ink).getvalue()


def render_wav(text: str) -> bytes:
    """``text`` spelled in French, character by character, over noise (WAV, 8000 Hz mono 8-bit)."""
    return bytes(_audio.generate(_checked(text)))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
