"""The forms that set or check a password: activation (seed 004 §2.1), change of password, login.

marshmallow schemas on the French field kit, like the registration form; the
password policy itself is ``passwords.check_password``. Whether a login is
free or a current password right is the use cases' question (they need the
database).
"""
from __future__ import annotations

from marshmallow import ValidationError, post_load, validates_schema

from guichet_contracts.fields import FrenchSchema, Secret, Text, add_error

from .logins import check_login, normalise_login
from .passwords import check_password, check_password_confirmation


class ActivationSchema(FrenchSchema):
    """« Votre identifiant de connexion * », « Mot de passe * », « Répéter votre mot de passe * » (seed 004).

    ``email`` is the account's email, so that the password may not contain it.
    Whether the login is free is the service's question (it needs the database).
    """

    login = Text(required=True, max_length=200)
    password = Secret(required=True)
    password_confirmation = Secret(required=True)

    def __init__(self, *, email: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.email = email

    @post_load
    def _normalise(self, data, **kwargs):
        data["login"] = normalise_login(data["login"])
        return data

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **kwargs):
        errors: dict = {}
        login = data.get("login")
        if login:
            problems = check_login(login)
            for problem in problems:
                add_error(errors, ("login",), problem)
        password = data.get("password")
        if password is not None:
            for problem in check_password(password, login=login, email=self.email):
                add_error(errors, ("password",), problem)
            confirmation = data.get("password_confirmation")
            if confirmation is not None:
                for problem in check_password_confirmation(password, confirmation):
                    add_error(errors, ("password_confirmation",), problem)
        if errors:
            raise ValidationError(errors)


class PasswordChangeSchema(FrenchSchema):
    """Change of password by a logged-in citizen (checking ``current_password`` is the service's job)."""

    current_password = Secret(required=True)
    new_password = Secret(required=True)
    new_password_confirmation = Secret(required=True)

    def __init__(self, *, login: str | None = None, email: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.login = login
        self.email = email

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **kwargs):
        errors: dict = {}
        password = data.get("new_password")
        if password is not None:
            for problem in check_password(password, login=self.login, email=self.email):
                add_error(errors, ("new_password",), problem)
            confirmation = data.get("new_password_confirmation")
            if confirmation is not None:
                for problem in check_password_confirmation(password, confirmation):
                    add_error(errors, ("new_password_confirmation",), problem)
        if errors:
            raise ValidationError(errors)


class LoginSchema(FrenchSchema):
    """« Identifiant » (a login or an email) and « Mot de passe » (seeds 000, 004); ``totp_code`` for agents."""

    identifier = Text(required=True, max_length=254)
    password = Secret(required=True)
    totp_code = Text(max_length=10)
