"""Every error of the accounts service, as Guichet problems (stable type, French detail).

The use cases and the domain raise them; the RPC layer sends their ``problem()``
to the gateway, which answers with the same type and detail.
"""
from __future__ import annotations

from guichet_common.errors import Forbidden, GuichetError, NotFound

from .domain import messages as msg


class LoginFailed(GuichetError):
    """The same answer for an unknown identifier and a wrong password (nothing revealed)."""

    slug, status, title = "login-failed", 401, "Connexion refusée"
    detail = msg.LOGIN_FAILED


class AccountNotValidated(Forbidden):
    """Seed 003: an account awaiting the town's validation may file procedures but not modify itself."""

    slug = "account-not-validated"
    detail = msg.ACCOUNT_NOT_VALIDATED


class TokenInvalid(GuichetError):
    """An activation or reset link that is unknown, used or expired: the three look the same."""

    slug, status, title = "invalid-link", 400, "Lien invalide"
    detail = "Ce lien n'est plus valide : il a déjà été utilisé ou il a expiré."  # composed


class InitialPasswordExpired(GuichetError):
    """The right initial password of a town-created account, past its lifetime (told only to who knows it)."""

    slug, status, title = "initial-password-expired", 401, "Mot de passe provisoire expiré"
    detail = msg.INITIAL_PASSWORD_EXPIRED


class PasswordChangeRequired(Forbidden):
    """A town-created account still using its initial password: it chooses its own before any change."""

    slug = "password-change-required"
    detail = msg.PASSWORD_CHANGE_REQUIRED


class CaptchaNotFound(NotFound):
    """A captcha id that is unknown, already answered or expired: the three look the same (ask for a new one)."""

    slug = "captcha-not-found"
    detail = msg.CAPTCHA_GONE
