"""Captcha challenges, kept until answered or expired."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import captcha_challenges


class CaptchaRepository:
    def __init__(self, session):
        self.session = session

    def add(self, captcha_id: str, text: str, expires_at) -> None:
        self.session.execute(captcha_challenges.insert().values(id=captcha_id, text=text, expires_at=expires_at))

    def get(self, captcha_id: str):
        return self.session.execute(sa.select(captcha_challenges.c.text, captcha_challenges.c.expires_at)
                                    .where(captcha_challenges.c.id == str(captcha_id))).first()

    def take(self, captcha_id: str):
        """The challenge, deleted; None unless this call is the one whose delete removed it (racing answers)."""
        this = captcha_challenges.c.id == str(captcha_id)
        row = self.session.execute(sa.select(captcha_challenges).where(this)).first()
        deleted = self.session.execute(captcha_challenges.delete().where(this)).rowcount
        return row if deleted == 1 else None

    def delete_expired(self, now) -> int:
        return self.session.execute(captcha_challenges.delete().where(captcha_challenges.c.expires_at < now)).rowcount
