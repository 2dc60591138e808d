"""Errors of the accounts service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError, NotFound  # noqa: F401

from .domain import messages as msg


class CaptchaNotFound(NotFound):
    """A captcha id that is unknown, already answered or expired: the three look the same (ask for a new one)."""

    slug = "captcha-not-found"
    detail = msg.CAPTCHA_GONE
