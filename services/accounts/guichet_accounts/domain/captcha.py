"""Captcha images without any imaging library: a 5×7 bitmap font, scaled, jittered, noised, as PNG.

Seeds 002 (« Saisir le texte de l'image »), 003 (« le cryptogramme ») and 004
(« Recopiez les caractères de l'image »). The alphabet leaves out characters
that look alike (0/O, 1/I). The service stores only a hash of the answer;
answers are compared upper-cased and without spaces. This is a deterrent
against naive bots, not a strong captcha.
"""
from __future__ import annotations

import base64
import random
import struct
import zlib

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6

_FONT = {
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "B": ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "D": ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
    "G": ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "Q": ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "V": ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
    "W": ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "Y": ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
    "Z": ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}

SCALE = 4
CELL_W, CELL_H = 5 * SCALE + 8, 7 * SCALE
WIDTH, HEIGHT = LENGTH * CELL_W + 16, CELL_H + 24


def new_text(rng: random.SystemRandom | None = None) -> str:
    rng = rng or random.SystemRandom()
    return "".join(rng.choice(ALPHABET) for _ in range(LENGTH))


def normalise_answer(answer: str | None) -> str:
    return "".join((answer or "").split()).upper()


def _png(width: int, height: int, rows: list[bytearray]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter 0, 8-bit greyscale
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def render_png(text: str, rng: random.Random | None = None) -> bytes:
    rng = rng or random.SystemRandom()
    pixels = [bytearray(rng.randint(215, 255) for _ in range(WIDTH)) for _ in range(HEIGHT)]
    for index, char in enumerate(text):
        glyph = _FONT[char]
        x0 = 8 + index * CELL_W + rng.randint(0, 6)
        y0 = 12 + rng.randint(-8, 8)
        slant = rng.uniform(-0.35, 0.35)
        shade = rng.randint(0, 90)
        for gy, line in enumerate(glyph):
            for gx, bit in enumerate(line):
                if bit != "1":
                    continue
                for dy in range(SCALE):
                    y = y0 + gy * SCALE + dy
                    shift = int(slant * (y - y0 - CELL_H / 2))
                    for dx in range(SCALE):
                        x = x0 + gx * SCALE + dx + shift
                        if 0 <= x < WIDTH and 0 <= y < HEIGHT:
                            pixels[y][x] = shade
    for _ in range(4):  # crossing lines
        y, slope = rng.uniform(0, HEIGHT), rng.uniform(-0.3, 0.3)
        for x in range(WIDTH):
            yy = int(y + slope * x)
            if 0 <= yy < HEIGHT:
                pixels[yy][x] = rng.randint(40, 140)
    for _ in range(WIDTH * HEIGHT // 25):  # speckles
        pixels[rng.randrange(HEIGHT)][rng.randrange(WIDTH)] = rng.randint(0, 160)
    return _png(WIDTH, HEIGHT, pixels)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
