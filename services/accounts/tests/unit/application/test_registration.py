"""Registration and activation: the recap, the account, the activation link, the captcha."""
import datetime as dt
import json

import pytest

from guichet_accounts.adapters.captcha_media import CaptchaMedia
from guichet_accounts.domain import captcha
from guichet_accounts.domain import messages as msg
from guichet_common.errors import (
    GuichetError,
    InvalidInput,
)

from ... import factories


def test_registration_recap_saves_nothing(app):
    answer = app.registration.register(factories.registration(), validate_only=True)
    assert answer["valid"] is True and answer["recap"]["email"] == "pascal.dupin@example.org"
    assert factories.messages(app) == []


def test_registration_refuses_bad_input_with_french_field_messages(app):
    with pytest.raises(InvalidInput) as error:
        app.registration.register(factories.registration(email="nope", cgu_accepted=False))
    assert error.value.errors["email"] == [msg.EMAIL_INVALID]
    assert msg.CGU_REQUIRED in error.value.errors["cgu_accepted"]


def test_register_sends_contact_and_activation_then_activation_logs_in(app, clock):
    account_id = app.registration.register(factories.registration())["account_id"]
    types = [m["type"] for m in factories.messages(app)]
    assert types == ["fr.guichet.accounts.account.registered.v1", "fr.guichet.accounts.household_member.added.v1",
                     "fr.guichet.notifications.contact.updated.v1",
                     "fr.guichet.notifications.notification.requested.v1"]
    for event in factories.messages(app, "registered.v1"):
        assert "email" not in json.dumps(event["data"])
    contact = factories.messages(app, "contact.updated.v1")[0]["data"]
    assert contact["email"] == "pascal.dupin@example.org" and contact["phone_mobile"] == "+33612345678"
    activation = factories.messages(app, "notification.requested.v1")[0]["data"]
    assert activation["security"] is True
    personalisation = activation["personalisation"]
    assert personalisation["suggested_username"] == "pascal.dupin"
    assert personalisation["activation_url"].startswith("https://ville.test/activation?token=")
    expected = (clock.now + dt.timedelta(hours=48)).isoformat().replace("+00:00", "Z")
    assert personalisation["expires_at"] == expected
    token = factories.token_from(personalisation["activation_url"])
    assert app.activation.activation_preview(token)["suggested_login"] == "pascal.dupin"
    session = app.activation.activate(token, None, factories.PASSWORD, factories.PASSWORD)
    assert session["login"] == "pascal.dupin" and session["status"] == "active"
    claims = factories.claims_of(app, session["access_token"])
    assert claims["sub"] == account_id and claims["kind"] == "citizen"
    with pytest.raises(GuichetError) as error:  # single use
        app.activation.activate(token, None, factories.PASSWORD, factories.PASSWORD)
    assert error.value.slug == "invalid-link"


def test_activation_link_expires(app, clock):
    app.registration.register(factories.registration())
    url = factories.messages(app, "notification.requested.v1")[0]["data"]["personalisation"]["activation_url"]
    clock.now += dt.timedelta(hours=49)
    with pytest.raises(GuichetError, match="expiré"):
        app.activation.activate(factories.token_from(url), None, factories.PASSWORD, factories.PASSWORD)


def test_activation_checks_the_password_policy_and_proposes_unique_logins(app):
    factories.active_citizen(app)
    app.registration.register(factories.registration(email="autre@example.org"))
    url = factories.messages(app, "notification.requested.v1")[-1]["data"]["personalisation"]
    assert url["suggested_username"] == "pascal.dupin2"
    with pytest.raises(InvalidInput) as error:
        app.activation.activate(factories.token_from(url["activation_url"]), "pascal.dupin", "abc", "abd")
    assert error.value.errors["login"] == [msg.LOGIN_TAKEN]
    assert msg.PASSWORD_TOO_SHORT in error.value.errors["password"]
    assert error.value.errors["password_confirmation"] == [msg.PASSWORD_CONFIRMATION_MISMATCH]


class SpellingMedia(CaptchaMedia):
    """The captcha media, remembering what the audio spelled."""

    def __init__(self):
        super().__init__()
        self.spoken = []

    def wav(self, text):
        self.spoken.append(text)
        return super().wav(text)


def test_captcha_is_checked_once(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(captcha, "new_text", lambda: "AB3CD4")
    app = factories.application(tmp_path, clock, captcha=True)
    try:
        challenge = app.registration.new_captcha()
        assert challenge["image"].startswith("data:image/png;base64,") and "AB3CD4" not in str(challenge)
        assert challenge["audio_label"] == msg.CAPTCHA_AUDIO_LABEL and challenge["expires_in"] == 600
        data = factories.registration(captcha_id=challenge["captcha_id"], captcha_answer="WRONG1")
        with pytest.raises(InvalidInput) as wrong:
            app.registration.register(data)
        assert wrong.value.errors == {"captcha_answer": [msg.CAPTCHA_WRONG]}
        with pytest.raises(InvalidInput):  # a wrong guess used the challenge up: no second guess on it
            app.registration.register(factories.registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        challenge = app.registration.new_captcha()
        app.registration.register(factories.registration(captcha_id=challenge["captcha_id"], captcha_answer="ab3 cd4"))
        with pytest.raises(InvalidInput):
            app.registration.register(factories.registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        late = app.registration.new_captcha()
        clock.now += dt.timedelta(minutes=10)
        with pytest.raises(InvalidInput):
            app.registration.register(factories.registration(captcha_id=late["captcha_id"], captcha_answer="AB3CD4", email="x@example.org"))
    finally:
        app.db.dispose()


def test_a_live_captcha_has_an_audio_alternative_refused_once_answered_or_expired(tmp_path, clock, monkeypatch):
    import base64
    import io
    import wave

    from guichet_accounts.exceptions import CaptchaNotFound

    monkeypatch.setattr(captcha, "new_text", lambda: "AB3CD4")
    media = SpellingMedia()
    spoken = media.spoken
    app = factories.application(tmp_path, clock, media=media, captcha=True)
    try:
        challenge = app.registration.new_captcha()
        audio = app.registration.captcha_audio(challenge["captcha_id"])
        assert audio["content_type"] == "audio/wav" and spoken == ["AB3CD4"]  # the characters of the image
        with wave.open(io.BytesIO(base64.b64decode(audio["audio"]))) as wav:
            assert wav.getframerate() == 8000 and wav.getnframes() / 8000 > 6
        assert app.registration.captcha_audio(challenge["captcha_id"])["audio"] != audio["audio"]  # new noise, same text
        app.registration.register(factories.registration(captcha_id=challenge["captcha_id"], captcha_answer="AB3CD4"))
        with pytest.raises(CaptchaNotFound) as used:
            app.registration.captcha_audio(challenge["captcha_id"])
        assert used.value.status == 404 and used.value.problem()["type"] == "urn:guichet:problem:captcha-not-found"
        assert used.value.detail == msg.CAPTCHA_GONE

        expiring = app.registration.new_captcha()
        clock.now += dt.timedelta(minutes=9, seconds=59)
        assert app.registration.captcha_audio(expiring["captcha_id"])["audio"]
        clock.now += dt.timedelta(seconds=1)
        with pytest.raises(CaptchaNotFound):
            app.registration.captcha_audio(expiring["captcha_id"])
        with pytest.raises(CaptchaNotFound):
            app.registration.captcha_audio("unknown")
    finally:
        app.db.dispose()
