"""Regenerate the French voice clips of the audio captcha: one WAV per character of the captcha alphabet.

    apt-get install -y espeak-ng sox
    .venv/bin/python services/accounts/scripts/make_captcha_voices.py

espeak-ng (voice ``fr``) spells each character with its French name (« bé »,
« double vé », « i grec », « deux »); sox trims the silence around it and
converts it to what ``captcha.audio.AudioCaptcha`` mixes: mono, 8000 Hz, 8-bit
unsigned PCM. The clips land in ``guichet_accounts/data/voices/<character>/fr.wav``
(package data, committed); directories of characters no longer in the alphabet
are removed. The same espeak-ng and sox versions give the same bytes (sox runs
in repeatable mode), so a rerun without a change leaves git clean.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from guichet_accounts.adapters.captcha_media import VOICES_DIR
from guichet_accounts.domain.captcha import ALPHABET

CLIP = "fr.wav"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"{tool} is missing: apt-get install -y espeak-ng sox")
    return path


def make_clip(espeak: str, sox: str, char: str, target: Path, *, voice: str, speed: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spoken = Path(tmp) / "spoken.wav"
        # A single character is read as its name ("W" → « double vé »), not as a word.
        subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(spoken), "--", char], check=True)
        # -R: repeatable dither; silence at -50 dB keeps quiet consonants (the f of « èf »); norm: same loudness.
        subprocess.run([sox, "-R", "-V1", str(spoken), "-r", "8000", "-c", "1", "-b", "8", "-e", "unsigned-integer",
                        str(target), "silence", "1", "0.01", "-50d", "reverse", "silence", "1", "0.01", "-50d",
                        "reverse", "norm", "-1"], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=VOICES_DIR, help="voice directory (default: %(default)s)")
    parser.add_argument("--voice", default="fr", help="espeak-ng voice (default: %(default)s)")
    parser.add_argument("--speed", type=int, default=130, help="words per minute (default: %(default)s)")
    args = parser.parse_args(argv)
    espeak, sox = _need("espeak-ng"), _need("sox")
    for stale in sorted(p for p in args.out.glob("*") if p.is_dir() and p.name not in ALPHABET):
        shutil.rmtree(stale)
    for char in ALPHABET:
        make_clip(espeak, sox, char, args.out / char / CLIP, voice=args.voice, speed=args.speed)
    version = subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{len(ALPHABET)} clips in {args.out} ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
