import random
import struct
import zlib

from guichet_accounts.domain import captcha


def test_every_character_has_a_glyph_and_texts_use_the_alphabet():
    assert set(captcha.ALPHABET) == set(captcha._FONT)
    assert all(len(rows) == 7 and all(len(r) == 5 for r in rows) for rows in captcha._FONT.values())
    text = captcha.new_text()
    assert len(text) == captcha.LENGTH and set(text) <= set(captcha.ALPHABET)


def test_the_image_is_a_valid_greyscale_png():
    png = captcha.render_png("AB3CD4", random.Random(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (captcha.WIDTH, captcha.HEIGHT)
    start = png.index(b"IDAT") + 4
    length = struct.unpack(">I", png[start - 8:start - 4])[0]
    assert len(zlib.decompress(png[start:start + length])) == height * (width + 1)
    assert captcha.data_uri(png).startswith("data:image/png;base64,")


def test_answers_ignore_case_and_spaces():
    assert captcha.normalise_answer(" ab3 cd4 ") == "AB3CD4"
    assert captcha.normalise_answer(None) == ""
