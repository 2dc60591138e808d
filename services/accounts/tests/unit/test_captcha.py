import io
import wave

import pytest
from PIL import Image

from guichet_accounts.adapters import captcha_media as media
from guichet_accounts.domain import captcha


def test_texts_use_the_alphabet_without_look_alikes():
    assert not set("0O1I") & set(captcha.ALPHABET)
    texts = {captcha.new_text() for _ in range(50)}
    assert len(texts) > 45
    assert all(len(text) == captcha.LENGTH and set(text) <= set(captcha.ALPHABET) for text in texts)


def test_every_character_has_a_french_voice_and_nothing_else_does():
    voiced = {path.name for path in media.VOICES_DIR.iterdir() if path.is_dir()}
    assert voiced == set(captcha.ALPHABET)
    for char in captcha.ALPHABET:
        clips = list((media.VOICES_DIR / char).glob("*.wav"))
        assert [clip.name for clip in clips] == ["fr.wav"], char
        with wave.open(str(clips[0])) as clip:
            # What AudioCaptcha mixes: its header says mono 8 kHz 8-bit and it mixes raw bytes as such.
            assert (clip.getnchannels(), clip.getframerate(), clip.getsampwidth()) == (1, 8000, 1), char
            assert 0.1 < clip.getnframes() / 8000 < 1.5, char  # a letter's name, trimmed


def test_the_image_is_a_png_of_the_announced_size():
    png = media.render_png("AB3CD4")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (media.WIDTH, media.HEIGHT)
        lowest, highest = image.convert("L").getextrema()
        assert highest - lowest > 100  # drawn on, not blank
    assert captcha.data_uri(png).startswith("data:image/png;base64,")
    assert media.render_png("AB3CD4") != png  # each rendering is distorted anew


def _seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getnchannels(), audio.getframerate(), audio.getsampwidth()) == (1, 8000, 1)
        return audio.getnframes() / audio.getframerate()


def test_the_audio_is_a_valid_wav_that_grows_with_the_text():
    one, six = _seconds(media.render_wav("W")), _seconds(media.render_wav("AB3CD4"))
    assert one > 1  # three beeps, a pause of 1 to 3 seconds, the letter, the end beep
    # Each character adds its clip and a pause of 1 to 3 seconds: at least 3 more seconds in the worst draw.
    assert six > one + 3


def test_only_alphabet_characters_are_rendered():
    for bad in ("", "AB0", "ab3"):
        with pytest.raises(ValueError):
            media.render_png(bad)
        with pytest.raises(ValueError):
            media.render_wav(bad)


def test_answers_ignore_case_and_spaces():
    assert captcha.normalise_answer(" ab3 cd4 ") == "AB3CD4"
    assert captcha.normalise_answer(None) == ""
