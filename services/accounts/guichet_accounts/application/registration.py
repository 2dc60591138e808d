"""Registration (issue 4, seeds 002 and 004): the captcha, the recap, the account and its activation link."""
from __future__ import annotations

import base64
import datetime as dt
import secrets

from guichet_common.errors import InvalidInput
from guichet_contracts import types

from .. import schemas
from ..domain import captcha
from ..domain import messages as msg
from ..domain.logins import propose_login
from ..domain.passwords import hash_security_answer
from ..domain.registration import AWAITING_ACTIVATION, RegistrationSchema
from ..exceptions import CaptchaNotFound
from .base import UseCases, digest, iso, new_id, subject_of

CAPTCHA_TTL = dt.timedelta(minutes=10)
ACTIVATION = "activation"  # the purpose of the activation links

CIVIL_FIELDS = ("civility", "birth_name", "usage_name", "first_name", "second_first_name", "third_first_name",
                "birth_date", "birth_country", "birth_commune", "birth_department")
# The form's fields that are not account data: shown nowhere, kept nowhere.
NOT_RECAPPED = ("captcha_id", "captcha_answer", "security_answer")


class Registration(UseCases):
    def new_captcha(self) -> dict:
        """A challenge for 10 minutes: its id and a PNG image (data URI); the audio is ``captcha_audio(id)``."""
        text = captcha.new_text()
        captcha_id = secrets.token_urlsafe(16)
        now = self.clock()
        with self.work() as (uow, repos):
            repos.captchas.delete_expired(now)
            repos.captchas.add(captcha_id, text, now + CAPTCHA_TTL)
            uow.commit()
        return {"captcha_id": captcha_id, "image": captcha.data_uri(self.context.media.png(text)),
                "expires_in": int(CAPTCHA_TTL.total_seconds()), "label": msg.CAPTCHA_LABEL,
                "hint": msg.CAPTCHA_REFRESH_HINT, "audio_label": msg.CAPTCHA_AUDIO_LABEL}

    def captcha_audio(self, captcha_id: str) -> dict:
        """The audio alternative of a live challenge (its characters spelled in French) as base64 WAV; an
        unknown, answered or expired challenge is a CaptchaNotFound. Each call mixes a new noise."""
        with self.work() as (_, repos):
            row = repos.captchas.get(captcha_id)
        if row is None or row.expires_at <= self.clock():
            raise CaptchaNotFound()
        wav = self.context.media.wav(row.text)
        return {"captcha_id": captcha_id, "content_type": "audio/wav", "audio": base64.b64encode(wav).decode("ascii")}

    def _consume_captcha(self, captcha_id, answer) -> None:
        """Check an answer once: the challenge is deleted in its own committed transaction, right answer or
        wrong, before the registration's (whose rollback on a wrong answer would otherwise keep the challenge
        open to more guesses). Digests of the texts are compared in constant time."""
        if not self.rules.captcha:
            return
        now = self.clock()
        with self.work() as (uow, repos):
            row = repos.captchas.take(captcha_id)
            uow.commit()
        ok = (row is not None and row.expires_at > now
              and secrets.compare_digest(digest(row.text), digest(captcha.normalise_answer(answer))))
        if not ok:
            raise InvalidInput(errors={"captcha_answer": [msg.CAPTCHA_WRONG]})

    def register(self, data: dict, *, validate_only: bool = False) -> dict:
        form = schemas.load(RegistrationSchema(self.rules, today=self.clock().date()), data)
        if validate_only:
            return {"valid": True, "recap": {k: v for k, v in form.items() if k not in NOT_RECAPPED}}
        now = self.clock()
        account_id = new_id()
        self._consume_captcha(form.get("captcha_id"), form.get("captcha_answer"))
        with self.work() as (uow, repos):
            phones = form.get("phones") or {}
            answer = form.get("security_answer")
            repos.accounts.insert(
                id=account_id, status=AWAITING_ACTIVATION, account_type=form["account_type"], provisioned=False,
                **{f: form.get(f) for f in CIVIL_FIELDS}, email=form["email"],
                phone_personal=phones.get("personal"), phone_mobile=phones.get("mobile"),
                phone_office=phones.get("office"), address=form.get("address"),
                organisation_name=form.get("organisation_name"), siret=form.get("siret"), rna=form.get("rna"),
                communication_preference=form["communication_preference"],
                security_question=form.get("security_question"),
                security_answer_hash=hash_security_answer(answer, hasher=self.hasher) if answer else None,
                created_at=now, updated_at=now, cgu_accepted_at=now)
            member_id = self.add_titulaire(repos, account_id, form, now)
            uow.publish_event(types.ACCOUNT_REGISTERED, {
                "account_id": account_id, "account_type": form["account_type"], "status": AWAITING_ACTIVATION,
                "provisioned": False}, subject=subject_of(account_id))
            uow.publish_event(types.HOUSEHOLD_MEMBER_ADDED, {
                "account_id": account_id, "member_id": member_id, "role": "titulaire"}, subject=subject_of(account_id))
            self.send_contact(uow, repos, account_id)
            self._send_activation(uow, repos, account_id, form)
            uow.commit()
        return {"account_id": account_id, "status": AWAITING_ACTIVATION,
                "message": "Un courriel vous a été envoyé pour activer votre compte."}  # composed

    def _send_activation(self, uow, repos, account_id: str, form: dict) -> None:
        token, expires = self.new_link(repos, account_id, ACTIVATION, self.settings.activation_ttl)
        suggested = propose_login(form.get("first_name"), form.get("birth_name"), repos.accounts.login_taken)
        uow.send_command(types.NOTIFICATION_REQUESTED, {
            "template": "account_activation", "recipient": {"account_id": account_id, "email": form["email"]},
            "personalisation": {"activation_url": f"{self.settings.public_url}/activation?token={token}",
                                "expires_at": iso(expires), "suggested_username": suggested},
            "channel": "email", "security": True}, subject=subject_of(account_id))
