"""The accounts application layer: one unit of work per call, the domain decides, the outbox tells.

``Accounts`` is what the nameko entrypoints (service.py), the CLI and the demo
loader call. It takes a ``guichet_common.db.Database`` (so the unit tests run
it on a SQLite file without any broker) and the town's rules. Every citizen
method acts on ``caller.subject``'s own account only; agent methods check the
caller's roles and write the audit log in the same transaction.
"""
from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import os
import secrets
import string
import threading
import uuid
from typing import Any

import sqlalchemy as sa

from guichet_common.auth import Caller
from guichet_common.db import Database, utcnow
from guichet_common.errors import (
    Conflict,
    Forbidden,
    GuichetError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)

from . import forms
from .domain import captcha
from .domain import messages as msg
from .domain import totp as totp_lib
from .domain.authentication import StoredCredentials, attempt_login, last_login_label
from .domain.logins import check_login, looks_like_email, normalise_login, propose_login
from .domain.passwords import (
    check_password,
    hash_password,
    hash_security_answer,
    verify_against_nothing,
    verify_password,
    verify_security_answer,
)
from .domain.registration import (
    ACTIVE,
    AWAITING_ACTIVATION,
    AWAITING_VALIDATION,
    AccountNotValidated,
    ActivationSchema,
    PasswordChangeSchema,
    RegistrationRules,
    RegistrationSchema,
    ensure_can_modify_account,
    status_after_activation,
)
from .domain.throttling import LoginThrottle, Throttle, ThrottlePolicy, ThrottleRecord
from .domain.tokens import (
    ACCESS_TOKEN_TTL,
    KeyRing,
    RefreshTokenError,
    RefreshTokenFamily,
    RefreshTokenReused,
    SigningKey,
    hash_refresh_token,
    issue_access_token,
    public_jwks,
)
from .exceptions import CaptchaNotFound
from .models import (
    accounts,
    agents,
    audit_log,
    captcha_challenges,
    household_members,
    one_time_tokens,
    refresh_families,
    refresh_token_hashes,
    signing_keys,
    social_data,
    throttle_records,
)

EVENT = "fr.guichet.accounts.{}.v1"
NOTIFY = "fr.guichet.notifications.notification.requested.v1"
CONTACT = "fr.guichet.notifications.contact.updated.v1"

ACTIVATION = "activation"
PASSWORD_RESET = "password_reset"

CIVIL_FIELDS = ("civility", "birth_name", "usage_name", "first_name", "second_first_name", "third_first_name",
                "birth_date", "birth_country", "birth_commune", "birth_department")
CONTACT_FIELDS = ("email", "phones", "communication_preference")
ORGANISATION_FIELDS = ("account_type", "organisation_name", "siret", "rna")
PROFILE_FIELDS = (*CIVIL_FIELDS, *CONTACT_FIELDS, "address", *ORGANISATION_FIELDS)
MEMBER_FIELDS = ("role", "relation", "civility", "birth_name", "usage_name", "first_name", "birth_date", "sex",
                 "guardians", "school")

MAX_IMPORT_LINES = 500  # one RPC; larger files go through the ``guichet-accounts import-families`` command

CAPTCHA_TTL = dt.timedelta(minutes=10)

AGENT_ROLES = ("administrator", "account_validator", "etat_civil", "voirie", "enfance", "regisseur")


class LoginFailed(GuichetError):
    slug, status, title = "login-failed", 401, "Connexion refusée"
    detail = msg.LOGIN_FAILED


class AccountNotValidatedError(Forbidden):
    slug = "account-not-validated"
    detail = msg.ACCOUNT_NOT_VALIDATED


class TokenInvalid(GuichetError):
    slug, status, title = "invalid-link", 400, "Lien invalide"
    detail = "Ce lien n'est plus valide : il a déjà été utilisé ou il a expiré."  # composed


class RecoveryNeedsEmail(GuichetError):
    slug, status, title = "email-required", 409, "Adresse email manquante"
    detail = msg.RECOVERY_NEEDS_EMAIL


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AccountsSettings:
    rules: RegistrationRules = RegistrationRules()
    public_url: str = "http://127.0.0.1:8000"
    activation_ttl: dt.timedelta = dt.timedelta(hours=48)
    reset_ttl: dt.timedelta = dt.timedelta(hours=2)
    access_token_ttl: dt.timedelta = ACCESS_TOKEN_TTL
    key_passphrase: bytes | None = None

    OWN_KEYS = ("activation_ttl_hours", "reset_ttl_minutes")

    @classmethod
    def from_town(cls, town: dict, environ=None) -> "AccountsSettings":
        """The ``accounts`` section of the town settings: the registration rules plus link lifetimes."""
        environ = os.environ if environ is None else environ
        section = dict(town.get("accounts") or {})
        own = {key: section.pop(key) for key in cls.OWN_KEYS if key in section}
        passphrase = environ.get("GUICHET_ACCOUNTS_KEY_PASSPHRASE")
        return cls(rules=RegistrationRules.from_mapping(section),
                   public_url=str(town.get("public_url") or cls.public_url).rstrip("/"),
                   activation_ttl=dt.timedelta(hours=float(own.get("activation_ttl_hours", 48))),
                   reset_ttl=dt.timedelta(minutes=float(own.get("reset_ttl_minutes", 120))),
                   key_passphrase=passphrase.encode() if passphrase else None)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_id() -> str:
    return str(uuid.uuid4())


def generate_password(length: int = 14) -> str:
    """A password that passes the seed 004 policy (upper, lower, digit, symbol)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 1)) + secrets.choice("!+@#$%^&*")
        if check_password(body) == []:
            return body


# --------------------------------------------------------------------------
# Stores over the unit of work's session
# --------------------------------------------------------------------------

class DbThrottleStore:
    """``domain.throttling.ThrottleStore`` in the ``throttle_records`` table (keys are already hashed)."""

    def __init__(self, session):
        self.session = session

    def get(self, key):
        row = self.session.execute(sa.select(throttle_records.c.record).where(throttle_records.c.key == key)).first()
        return ThrottleRecord.from_dict(row[0]) if row else None

    def put(self, key, record, *, expires_at):
        expires = dt.datetime.fromtimestamp(expires_at, dt.timezone.utc)
        updated = self.session.execute(throttle_records.update().where(throttle_records.c.key == key)
                                       .values(record=record.to_dict(), expires_at=expires)).rowcount
        if not updated:
            self.session.execute(throttle_records.insert().values(key=key, record=record.to_dict(),
                                                                  expires_at=expires))

    def delete(self, key):
        self.session.execute(throttle_records.delete().where(throttle_records.c.key == key))


_keyrings: dict[str, KeyRing] = {}
_keyring_lock = threading.Lock()


# --------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------

class Accounts:
    def __init__(self, database: Database, settings: AccountsSettings | None = None, *, hasher=None,
                 clock=utcnow):
        self.db = database
        self.settings = settings or AccountsSettings()
        self.rules = self.settings.rules
        self.hasher = hasher
        self.clock = clock

    # --- keys and tokens ------------------------------------------------------

    def keyring(self, *, reload: bool = False) -> KeyRing:
        """The signing keys, from the database; the first call on an empty database creates one."""
        url = self.db.url
        if not reload and url in _keyrings:
            return _keyrings[url]
        with _keyring_lock:
            ring = self._load_keyring()
            if ring is None:
                self.rotate_keys()
                ring = self._load_keyring()
            _keyrings[url] = ring
            return ring

    def _load_keyring(self) -> KeyRing | None:
        with self.db.engine.connect() as connection:
            rows = connection.execute(sa.select(signing_keys).where(signing_keys.c.retired_at.is_(None))
                                      .order_by(signing_keys.c.created_at.desc())).all()
        keys = []
        for row in rows:
            password = self.settings.key_passphrase if row.encrypted else None
            keys.append(SigningKey.from_pem(row.private_key_pem.encode(), created_at=row.created_at,
                                            superseded_at=row.superseded_at, password=password))
        current = [k for k in keys if k.superseded_at is None]
        if not current:
            return None
        return KeyRing(current[0], tuple(k for k in keys if k is not current[0]))

    def rotate_keys(self) -> str:
        """A new signing key; the previous ones keep verifying until retired (``retire_keys``)."""
        now = self.clock()
        key = SigningKey.generate(now)
        passphrase = self.settings.key_passphrase
        with self.db.unit_of_work() as uow:
            uow.session.execute(signing_keys.update().where(signing_keys.c.superseded_at.is_(None),
                                                            signing_keys.c.retired_at.is_(None))
                                .values(superseded_at=now))
            uow.session.execute(signing_keys.insert().values(
                kid=key.kid, private_key_pem=key.to_pem(passphrase).decode(), encrypted=bool(passphrase),
                created_at=now))
            uow.commit()
        _keyrings.pop(self.db.url, None)
        return key.kid

    def retire_keys(self, grace: dt.timedelta = dt.timedelta(hours=1)) -> int:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            count = uow.session.execute(signing_keys.update().where(
                signing_keys.c.superseded_at.is_not(None), signing_keys.c.superseded_at <= now - grace,
                signing_keys.c.retired_at.is_(None)).values(retired_at=now)).rowcount
            uow.commit()
        _keyrings.pop(self.db.url, None)
        return count

    def public_keys(self) -> dict:
        return public_jwks(self.keyring(reload=True))

    def _start_session(self, session, *, subject: str, kind: str, roles=()) -> dict:
        now = self.clock()
        family, refresh_token = RefreshTokenFamily.start(subject=subject, kind=kind, now=now)
        session.execute(refresh_families.insert().values(
            family_id=family.family_id, subject=subject, kind=kind, current_hash=family.current_hash,
            used_hashes=[], created_at=now, current_issued_at=now, expires_at=family.expires_at))
        session.execute(refresh_token_hashes.insert().values(token_hash=family.current_hash,
                                                             family_id=family.family_id))
        return self._tokens(family, refresh_token, roles)

    def _tokens(self, family: RefreshTokenFamily, refresh_token: str, roles=()) -> dict:
        ttl = self.settings.access_token_ttl
        access = issue_access_token(self.keyring(), subject=family.subject, kind=family.kind, roles=roles,
                                    session_id=family.family_id, ttl=ttl, now=self.clock())
        return {"access_token": access, "token_type": "Bearer", "expires_in": int(ttl.total_seconds()),
                "refresh_token": refresh_token, "session_id": family.family_id}

    @staticmethod
    def _family(row) -> RefreshTokenFamily:
        return RefreshTokenFamily(family_id=row.family_id, subject=row.subject, kind=row.kind,
                                  current_hash=row.current_hash, created_at=row.created_at,
                                  current_issued_at=row.current_issued_at, expires_at=row.expires_at,
                                  used_hashes=list(row.used_hashes or []), revoked_at=row.revoked_at,
                                  revoked_reason=row.revoked_reason)

    @staticmethod
    def _save_family(session, family: RefreshTokenFamily) -> None:
        session.execute(refresh_families.update().where(refresh_families.c.family_id == family.family_id).values(
            current_hash=family.current_hash, used_hashes=family.used_hashes,
            current_issued_at=family.current_issued_at, revoked_at=family.revoked_at,
            revoked_reason=family.revoked_reason))

    def refresh(self, refresh_token: str) -> dict:
        """Rotate the refresh token; a token already rotated ends the whole session (reuse detection)."""
        self.keyring()  # created outside the transaction below on a fresh database
        if not isinstance(refresh_token, str) or not refresh_token:
            raise Unauthenticated(msg.SESSION_EXPIRED)
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = s.execute(sa.select(refresh_families).join(
                refresh_token_hashes, refresh_token_hashes.c.family_id == refresh_families.c.family_id).where(
                refresh_token_hashes.c.token_hash == hash_refresh_token(refresh_token))).first()
            if row is None:
                raise Unauthenticated(msg.SESSION_EXPIRED)
            family = self._family(row)
            try:
                new_token = family.rotate(refresh_token, self.clock())
            except RefreshTokenReused as error:
                self._save_family(s, family)
                uow.commit()
                raise Unauthenticated(error.message, slug="session-revoked") from None
            except RefreshTokenError as error:
                raise Unauthenticated(error.message) from None
            roles = ()
            if family.kind == "agent":
                agent = s.execute(sa.select(agents).where(agents.c.id == family.subject)).first()
                if agent is None or not agent.active:
                    raise Unauthenticated(msg.SESSION_EXPIRED)
                roles = tuple(agent.roles)
            self._save_family(s, family)
            s.execute(refresh_token_hashes.insert().values(token_hash=family.current_hash,
                                                           family_id=family.family_id))
            uow.commit()
        return self._tokens(family, new_token, roles)

    def logout(self, caller: Caller, refresh_token: str | None = None) -> dict:
        """Close the session: the caller's own (``sid``), or the one the refresh token belongs to."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            family_id = caller.session if caller.authenticated else None
            if family_id is None and refresh_token:
                found = s.execute(sa.select(refresh_token_hashes.c.family_id).where(
                    refresh_token_hashes.c.token_hash == hash_refresh_token(refresh_token))).first()
                family_id = found[0] if found else None
            if family_id:
                query = refresh_families.update().where(refresh_families.c.family_id == family_id,
                                                        refresh_families.c.revoked_at.is_(None))
                if caller.authenticated:
                    query = query.where(refresh_families.c.subject == caller.subject)
                s.execute(query.values(revoked_at=now, revoked_reason="logout"))
            uow.commit()
        return {"logged_out": True}

    # --- housekeeping --------------------------------------------------------

    def purge_expired(self, *, revoked_kept: dt.timedelta = dt.timedelta(days=1)) -> dict:
        """Delete what can no longer serve: expired or used links, ended sessions, stale throttle records and
        captchas. Revoked sessions are kept a day so a stolen refresh token replayed soon after still reads
        as "reused" in the logs; after that it is simply unknown (the same 401)."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            links = s.execute(one_time_tokens.delete().where(sa.or_(
                one_time_tokens.c.expires_at < now, one_time_tokens.c.used_at.is_not(None)))).rowcount
            ended = sa.select(refresh_families.c.family_id).where(sa.or_(
                refresh_families.c.expires_at < now, refresh_families.c.revoked_at < now - revoked_kept))
            # Explicitly, not by ON DELETE CASCADE: SQLite enforces foreign keys only when told to.
            s.execute(refresh_token_hashes.delete().where(refresh_token_hashes.c.family_id.in_(ended)))
            sessions = s.execute(refresh_families.delete().where(sa.or_(
                refresh_families.c.expires_at < now, refresh_families.c.revoked_at < now - revoked_kept))).rowcount
            throttles = s.execute(throttle_records.delete().where(throttle_records.c.expires_at < now)).rowcount
            captchas = s.execute(captcha_challenges.delete().where(captcha_challenges.c.expires_at < now)).rowcount
            uow.commit()
        return {"links": links, "sessions": sessions, "throttle_records": throttles, "captchas": captchas}

    # --- registration and activation -----------------------------------------

    def _consume_captcha(self, captcha_id, answer) -> None:
        """Check an answer once: the challenge is deleted in its own committed transaction, right answer or
        wrong, before the registration's (whose rollback on a wrong answer would otherwise keep the challenge
        open to more guesses). Digests of the texts are compared in constant time."""
        if not self.rules.captcha:
            return
        now = self.clock()
        this = captcha_challenges.c.id == str(captcha_id)
        with self.db.unit_of_work() as uow:
            row = uow.session.execute(sa.select(captcha_challenges).where(this)).first()
            # Of two answers racing on one challenge, only the one whose delete removed the row may pass.
            deleted = uow.session.execute(captcha_challenges.delete().where(this)).rowcount
            uow.commit()
        ok = (row is not None and deleted == 1 and row.expires_at > now
              and secrets.compare_digest(_digest(row.text), _digest(captcha.normalise_answer(answer))))
        if not ok:
            raise InvalidInput(errors={"captcha_answer": [msg.CAPTCHA_WRONG]})

    def new_captcha(self) -> dict:
        """A challenge for 10 minutes: its id and a PNG image (data URI); the audio is ``captcha_audio(id)``."""
        text = captcha.new_text()
        captcha_id = secrets.token_urlsafe(16)
        now = self.clock()
        with self.db.unit_of_work() as uow:
            uow.session.execute(captcha_challenges.delete().where(captcha_challenges.c.expires_at < now))
            uow.session.execute(captcha_challenges.insert().values(
                id=captcha_id, text=text, expires_at=now + CAPTCHA_TTL))
            uow.commit()
        return {"captcha_id": captcha_id, "image": captcha.data_uri(captcha.render_png(text)),
                "expires_in": int(CAPTCHA_TTL.total_seconds()), "label": msg.CAPTCHA_LABEL,
                "hint": msg.CAPTCHA_REFRESH_HINT, "audio_label": msg.CAPTCHA_AUDIO_LABEL}

    def captcha_audio(self, captcha_id: str, *, render=None) -> dict:
        """The audio alternative of a live challenge (its characters spelled in French) as base64 WAV; an
        unknown, answered or expired challenge is a CaptchaNotFound. Each call mixes a new noise. ``render``
        (default ``captcha.render_wav``) lets the service run the mixing off the eventlet hub."""
        with self.db.engine.connect() as connection:
            row = connection.execute(sa.select(captcha_challenges.c.text, captcha_challenges.c.expires_at)
                                     .where(captcha_challenges.c.id == str(captcha_id))).first()
        if row is None or row.expires_at <= self.clock():
            raise CaptchaNotFound()
        wav = (render or captcha.render_wav)(row.text)
        return {"captcha_id": captcha_id, "content_type": "audio/wav", "audio": base64.b64encode(wav).decode("ascii")}

    def register(self, data: dict, *, validate_only: bool = False) -> dict:
        schema = RegistrationSchema(self.rules, today=self.clock().date())
        form = forms.load(schema, data)
        recap = {k: v for k, v in form.items() if k not in ("captcha_id", "captcha_answer", "security_answer")}
        if validate_only:
            return {"valid": True, "recap": recap}
        now = self.clock()
        account_id = _new_id()
        self._consume_captcha(form.get("captcha_id"), form.get("captcha_answer"))
        with self.db.unit_of_work() as uow:
            s = uow.session
            phones = form.get("phones") or {}
            s.execute(accounts.insert().values(
                id=account_id, status=AWAITING_ACTIVATION, account_type=form["account_type"], provisioned=False,
                **{f: form.get(f) for f in CIVIL_FIELDS}, email=form["email"],
                phone_personal=phones.get("personal"), phone_mobile=phones.get("mobile"),
                phone_office=phones.get("office"), address=form.get("address"),
                organisation_name=form.get("organisation_name"), siret=form.get("siret"), rna=form.get("rna"),
                communication_preference=form["communication_preference"],
                security_question=form.get("security_question"),
                security_answer_hash=(hash_security_answer(form["security_answer"], hasher=self.hasher)
                                      if form.get("security_answer") else None),
                created_at=now, updated_at=now, cgu_accepted_at=now))
            member_id = self._add_titulaire(s, account_id, form, now)
            uow.publish_event(EVENT.format("account.registered"), {
                "account_id": account_id, "account_type": form["account_type"], "status": AWAITING_ACTIVATION,
                "provisioned": False}, subject=f"account/{account_id}")
            uow.publish_event(EVENT.format("household_member.added"), {
                "account_id": account_id, "member_id": member_id, "role": "titulaire"}, subject=f"account/{account_id}")
            self._send_contact(uow, account_id)
            self._send_activation(uow, account_id, form)
            uow.commit()
        return {"account_id": account_id, "status": AWAITING_ACTIVATION,
                "message": "Un courriel vous a été envoyé pour activer votre compte."}  # composed

    def _add_titulaire(self, session, account_id, form, now) -> str:
        member_id = _new_id()
        session.execute(household_members.insert().values(
            id=member_id, account_id=account_id, role="titulaire", civility=form.get("civility"),
            birth_name=form.get("birth_name"), usage_name=form.get("usage_name"),
            first_name=form.get("first_name") or "", birth_date=form.get("birth_date"),
            created_at=now, updated_at=now))
        return member_id

    def _new_one_time_token(self, session, account_id: str, purpose: str, ttl: dt.timedelta):
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session.execute(one_time_tokens.update().where(one_time_tokens.c.account_id == account_id,
                                                       one_time_tokens.c.purpose == purpose,
                                                       one_time_tokens.c.used_at.is_(None)).values(used_at=now))
        session.execute(one_time_tokens.insert().values(token_hash=_digest(token), purpose=purpose,
                                                        account_id=account_id, created_at=now,
                                                        expires_at=now + ttl))
        return token, now + ttl

    def _is_login_taken(self, session):
        def taken(login: str) -> bool:
            return session.execute(sa.select(accounts.c.id).where(accounts.c.login == login)).first() is not None
        return taken

    def _send_activation(self, uow, account_id: str, form: dict) -> None:
        token, expires = self._new_one_time_token(uow.session, account_id, ACTIVATION, self.settings.activation_ttl)
        suggested = propose_login(form.get("first_name"), form.get("birth_name"), self._is_login_taken(uow.session))
        uow.send_command(NOTIFY, {
            "template": "account_activation", "recipient": {"account_id": account_id, "email": form["email"]},
            "personalisation": {"activation_url": f"{self.settings.public_url}/activation?token={token}",
                                "expires_at": _iso(expires), "suggested_username": suggested},
            "channel": "email", "security": True}, subject=f"account/{account_id}")

    def _send_contact(self, uow, account_id: str) -> None:
        row = uow.session.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()
        uow.send_command(CONTACT, {
            "account_id": account_id, "email": row.email, "phone_mobile": row.phone_mobile,
            "phone_personal": row.phone_personal or row.phone_office, "preference": row.communication_preference,
            "display_name": self._display_name(row)}, subject=f"account/{account_id}")

    @staticmethod
    def _display_name(row) -> str | None:
        name = " ".join(p for p in (row.first_name, row.usage_name or row.birth_name) if p)
        return name[:200] or None

    def _token_row(self, session, token, purpose):
        if not isinstance(token, str) or not token:
            raise TokenInvalid()
        row = session.execute(sa.select(one_time_tokens).where(one_time_tokens.c.token_hash == _digest(token),
                                                               one_time_tokens.c.purpose == purpose)).first()
        if row is None or row.used_at is not None or row.expires_at <= self.clock():
            raise TokenInvalid()
        return row

    def activation_preview(self, token: str) -> dict:
        """What the activation page shows: the proposed login (prénom.nom) and the password policy."""
        with self.db.unit_of_work() as uow:
            row = self._token_row(uow.session, token, ACTIVATION)
            account = uow.session.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
            suggested = propose_login(account.first_name, account.birth_name, self._is_login_taken(uow.session))
        return {"suggested_login": suggested, "login_notice": msg.LOGIN_DEFAULT_NOTICE,
                "password_policy": msg.PASSWORD_POLICY}

    def activate(self, token: str, login: str | None, password: str, password_confirmation: str) -> dict:
        self.keyring()  # created outside the transaction below on a fresh database
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = self._token_row(s, token, ACTIVATION)
            account = s.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
            if account.status != AWAITING_ACTIVATION:
                raise TokenInvalid()
            taken = self._is_login_taken(s)
            if not login:
                login = propose_login(account.first_name, account.birth_name, taken)
            typed_login = normalise_login(login) if isinstance(login, str) else login
            try:
                form = forms.load(ActivationSchema(email=account.email), {
                    "login": login, "password": password, "password_confirmation": password_confirmation})
            except InvalidInput as error:
                if isinstance(typed_login, str) and typed_login and taken(typed_login):
                    error.errors.setdefault("login", []).append(msg.LOGIN_TAKEN)
                raise
            if taken(form["login"]):
                raise InvalidInput(errors={"login": [msg.LOGIN_TAKEN]})
            status = status_after_activation(self.rules)
            s.execute(accounts.update().where(accounts.c.id == account.id).values(
                login=form["login"], password_hash=hash_password(form["password"], hasher=self.hasher),
                status=status, activated_at=now, updated_at=now, last_login_at=now))
            s.execute(one_time_tokens.update().where(one_time_tokens.c.token_hash == row.token_hash)
                      .values(used_at=now))
            uow.publish_event(EVENT.format("account.activated"), {"account_id": account.id, "status": status},
                              subject=f"account/{account.id}")
            tokens = self._start_session(s, subject=account.id, kind="citizen")
            try:
                uow.commit()
            except sa.exc.IntegrityError:
                raise InvalidInput(errors={"login": [msg.LOGIN_TAKEN]}) from None
        return {**tokens, "login": form["login"], "status": status, "last_login": None}

    # --- login ---------------------------------------------------------------

    def login(self, identifier: str, password: str, ip: str | None = None) -> dict:
        self.keyring()  # created outside the transaction below on a fresh database
        form = forms.load(forms.LoginIn(), {"identifier": identifier, "password": password})
        identifier, password = form["identifier"], form["password"]
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session

            def lookup(typed: str):
                key = typed.strip().lower()
                query = sa.select(accounts.c.id, accounts.c.password_hash).where(
                    accounts.c.password_hash.is_not(None), accounts.c.status != AWAITING_ACTIVATION)
                if looks_like_email(key):
                    query = query.where(accounts.c.email == key).order_by(accounts.c.activated_at.desc())
                else:
                    query = query.where(accounts.c.login == normalise_login(key))
                row = s.execute(query).first()
                return StoredCredentials(row.id, row.password_hash) if row else None

            result = attempt_login(LoginThrottle(DbThrottleStore(s)), identifier=identifier, password=password,
                                   ip=ip, now=now, lookup=lookup, hasher=self.hasher)
            if not result.ok:
                s.execute(throttle_records.delete().where(throttle_records.c.expires_at < now))  # forgotten ones
                uow.commit()  # the failure counts
                if result.retry_after:
                    raise TooManyRequests(result.message, retry_after=int(result.retry_after.total_seconds()) + 1)
                raise LoginFailed()
            account = s.execute(sa.select(accounts).where(accounts.c.id == result.account_id)).one()
            values = {"last_login_at": now, "previous_login_at": account.last_login_at}
            if result.rehash:
                values["password_hash"] = hash_password(password, hasher=self.hasher)
            s.execute(accounts.update().where(accounts.c.id == account.id).values(**values))
            tokens = self._start_session(s, subject=account.id, kind="citizen")
            uow.commit()
        answer = {**tokens, "login": account.login, "status": account.status,
                  "last_login": last_login_label(account.last_login_at) if account.last_login_at else None,
                  "email_required": not account.email}
        if not account.email:
            answer["notice"] = msg.PROVISIONED_EMAIL_MISSING
        return answer

    # --- profile -------------------------------------------------------------

    def _account(self, session, caller: Caller):
        caller.require_citizen()
        row = session.execute(sa.select(accounts).where(accounts.c.id == caller.subject)).first()
        if row is None:
            raise NotFound()
        return row

    def _profile(self, session, row) -> dict:
        social = session.execute(sa.select(social_data).where(social_data.c.account_id == row.id)).first()
        return {
            "account_id": row.id, "status": row.status, "account_type": row.account_type,
            "provisioned": row.provisioned, "login": row.login,
            **{f: getattr(row, f) for f in CIVIL_FIELDS},
            "email": row.email,
            "phones": {k: v for k, v in (("personal", row.phone_personal), ("mobile", row.phone_mobile),
                                         ("office", row.phone_office)) if v},
            "address": row.address, "organisation_name": row.organisation_name, "siret": row.siret,
            "rna": row.rna, "communication_preference": row.communication_preference,
            "security_question": row.security_question,
            "security_question_label": msg.SECURITY_QUESTIONS.get(row.security_question),
            "family_file_ref": row.family_file_ref,
            "social": ({c: getattr(social, c) for c in forms.SocialDataSchema().fields} if social else {}),
            "last_login": last_login_label(row.previous_login_at) if row.previous_login_at else None,
            "email_required": not row.email,
            "can_pay_online": bool(row.email),
            "can_modify": row.status == ACTIVE,
            "notice": (msg.ACCOUNT_NOT_VALIDATED if row.status == AWAITING_VALIDATION
                       else msg.PROVISIONED_EMAIL_MISSING if not row.email else None),
        }

    def me(self, caller: Caller) -> dict:
        with self.db.unit_of_work() as uow:
            return self._profile(uow.session, self._account(uow.session, caller))

    def _ensure_can_modify(self, row) -> None:
        try:
            ensure_can_modify_account(row.status)
        except AccountNotValidated:
            raise AccountNotValidatedError() from None

    def update_me(self, caller: Caller, changes: dict) -> dict:
        if not isinstance(changes, dict):
            raise InvalidInput(errors={"_schema": [msg.INPUT_NOT_OBJECT]})
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = self._account(s, caller)
            self._ensure_can_modify(row)
            changes = dict(changes)
            social_changes = changes.pop("social", None)
            question, answer = changes.pop("security_question", None), changes.pop("security_answer", None)
            unknown = sorted(set(changes) - set(PROFILE_FIELDS))
            if unknown:
                raise InvalidInput(errors={name: [msg.FIELD_UNKNOWN] for name in unknown})
            current = self._profile(s, row)
            merged = {f: current[f] for f in PROFILE_FIELDS if current.get(f) not in (None, {}, "")}
            if isinstance(merged.get("birth_date"), dt.date):
                merged["birth_date"] = merged["birth_date"].isoformat()
            merged.update(changes)
            merged["cgu_accepted"] = True
            rules = dataclasses.replace(self.rules, captcha=False, security_question=(
                "off" if self.rules.security_question == "off" else "optional"))
            if question is not None or answer is not None:
                merged["security_question"], merged["security_answer"] = question, answer
            if row.provisioned and set(changes) <= set(CONTACT_FIELDS):
                # A town-created account has only names: its first task is to give an email (seed 002).
                contact_form = forms.load(forms.ContactIn(), {k: merged.get(k) for k in CONTACT_FIELDS
                                                              if merged.get(k) is not None})
                form = {**{f: getattr(row, f) for f in (*CIVIL_FIELDS, *ORGANISATION_FIELDS, "address")},
                        **contact_form}
                if question is not None or answer is not None:
                    form.update(forms.load(RegistrationSchema(rules, today=now.date(), only=(
                        "security_question", "security_answer")), {"security_question": question,
                                                                   "security_answer": answer}))
            else:
                form = forms.load(RegistrationSchema(rules, today=now.date()), merged)
            changed = []
            values: dict[str, Any] = {}
            for group, names in (("civil", CIVIL_FIELDS), ("organisation", ORGANISATION_FIELDS),
                                 ("address", ("address",))):
                for name in names:
                    if name in changes and form.get(name) != getattr(row, name):
                        values[name] = form.get(name)
                        if group not in changed:
                            changed.append(group)
            phones = form.get("phones") or {}
            contact = {"email": form.get("email"), "phone_personal": phones.get("personal"),
                       "phone_mobile": phones.get("mobile"), "phone_office": phones.get("office"),
                       "communication_preference": form.get("communication_preference")}
            if any(name in changes for name in CONTACT_FIELDS) and any(
                    contact[k] != getattr(row, k) for k in contact):
                values.update(contact)
                changed.append("contact")
            if question is not None or answer is not None:
                values["security_question"] = form.get("security_question")
                values["security_answer_hash"] = (hash_security_answer(form["security_answer"], hasher=self.hasher)
                                                  if form.get("security_answer") else None)
                changed.append("security_question")
            if social_changes is not None:
                social = forms.load(forms.SocialDataSchema(), social_changes, partial=True)
                if social:
                    exists = s.execute(sa.select(social_data.c.account_id)
                                       .where(social_data.c.account_id == row.id)).first()
                    if exists:
                        s.execute(social_data.update().where(social_data.c.account_id == row.id)
                                  .values(**social, updated_at=now))
                    else:
                        s.execute(social_data.insert().values(account_id=row.id, **social, updated_at=now))
                    changed.append("social")
            if values:
                s.execute(accounts.update().where(accounts.c.id == row.id).values(**values, updated_at=now))
            if "civil" in changed:
                s.execute(household_members.update().where(household_members.c.account_id == row.id,
                                                           household_members.c.role == "titulaire").values(
                    civility=form.get("civility"), birth_name=form.get("birth_name"),
                    usage_name=form.get("usage_name"), first_name=form.get("first_name"),
                    birth_date=form.get("birth_date"), updated_at=now))
            if changed:
                uow.publish_event(EVENT.format("account.updated"), {"account_id": row.id, "changed": changed},
                                  subject=f"account/{row.id}")
            if "contact" in changed:
                self._send_contact(uow, row.id)
            uow.commit()
            return self._profile(s, self._account(s, caller))

    def change_password(self, caller: Caller, current_password: str, new_password: str,
                        new_password_confirmation: str) -> dict:
        """Change of password; the other sessions end (issue 4), this one goes on."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = self._account(s, caller)
            form = forms.load(PasswordChangeSchema(login=row.login, email=row.email), {
                "current_password": current_password, "new_password": new_password,
                "new_password_confirmation": new_password_confirmation})
            if not row.password_hash or not verify_password(row.password_hash, form["current_password"],
                                                            hasher=self.hasher):
                raise InvalidInput(errors={"current_password": [msg.PASSWORD_CURRENT_WRONG]})
            s.execute(accounts.update().where(accounts.c.id == row.id).values(
                password_hash=hash_password(form["new_password"], hasher=self.hasher), updated_at=now))
            ended = self._revoke_sessions(s, row.id, keep=caller.session, reason="password_change")
            uow.commit()
        return {"changed": True, "sessions_ended": ended}

    def _revoke_sessions(self, session, subject: str, *, keep: str | None, reason: str) -> int:
        query = refresh_families.update().where(refresh_families.c.subject == subject,
                                                refresh_families.c.revoked_at.is_(None))
        if keep:
            query = query.where(refresh_families.c.family_id != keep)
        return session.execute(query.values(revoked_at=self.clock(), revoked_reason=reason)).rowcount

    # --- household -----------------------------------------------------------

    @staticmethod
    def _member(row) -> dict:
        return {"member_id": row.id, **{f: getattr(row, f) for f in MEMBER_FIELDS}}

    def household(self, caller: Caller) -> dict:
        with self.db.unit_of_work() as uow:
            account = self._account(uow.session, caller)
            rows = uow.session.execute(sa.select(household_members).where(
                household_members.c.account_id == account.id).order_by(household_members.c.created_at,
                                                                        household_members.c.id)).all()
        order = {role: i for i, role in enumerate(forms.MEMBER_ROLES)}
        return {"members": sorted((self._member(r) for r in rows), key=lambda m: order[m["role"]]),
                "family_file_ref": account.family_file_ref}

    def _check_guardians(self, session, account_id, guardians) -> None:
        for index, guardian in enumerate(guardians or []):
            if guardian.get("member_id") and session.execute(sa.select(household_members.c.id).where(
                    household_members.c.id == guardian["member_id"],
                    household_members.c.account_id == account_id)).first() is None:
                raise InvalidInput(errors={"guardians": {str(index): {"member_id": [forms.GUARDIAN_UNKNOWN_MEMBER]}}})

    def add_member(self, caller: Caller, member: dict) -> dict:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            account = self._account(s, caller)
            self._ensure_can_modify(account)
            data = forms.load(forms.MemberSchema(), member)
            if not data.get("birth_name"):  # « adding a member pre-fills the family name »
                data["birth_name"] = account.usage_name or account.birth_name
            self._check_guardians(s, account.id, data.get("guardians"))
            member_id = _new_id()
            s.execute(household_members.insert().values(id=member_id, account_id=account.id, created_at=now,
                                                        updated_at=now, **data))
            uow.publish_event(EVENT.format("household_member.added"), {
                "account_id": account.id, "member_id": member_id, "role": data["role"]},
                subject=f"account/{account.id}")
            uow.commit()
            row = s.execute(sa.select(household_members).where(household_members.c.id == member_id)).one()
        return self._member(row)

    def _own_member(self, session, account_id, member_id):
        row = session.execute(sa.select(household_members).where(
            household_members.c.id == str(member_id), household_members.c.account_id == account_id)).first()
        if row is None:
            raise NotFound("Ce membre ne fait pas partie de votre foyer.")  # composed
        return row

    def _editable_member(self, session, caller: Caller, member_id: str, titulaire_refusal: str):
        """The caller's account (which must be modifiable) and one of its members other than the titulaire."""
        account = self._account(session, caller)
        self._ensure_can_modify(account)
        row = self._own_member(session, account.id, member_id)
        if row.role == "titulaire":
            raise Conflict(titulaire_refusal)
        return account, row

    def update_member(self, caller: Caller, member_id: str, changes: dict) -> dict:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            account, row = self._editable_member(s, caller, member_id, forms.TITULAIRE_FROM_PROFILE)
            data = forms.load(forms.MemberSchema(), changes, partial=True)
            if data.get("guardians") and data.get("role", row.role) != "enfant":
                raise InvalidInput(errors={"guardians": [forms.GUARDIANS_ONLY_CHILDREN]})
            self._check_guardians(s, account.id, data.get("guardians"))
            if data:
                s.execute(household_members.update().where(household_members.c.id == row.id)
                          .values(**data, updated_at=now))
                uow.publish_event(EVENT.format("household_member.changed"), {
                    "account_id": account.id, "member_id": row.id, "role": data.get("role", row.role)},
                    subject=f"account/{account.id}")
            uow.commit()
            row = s.execute(sa.select(household_members).where(household_members.c.id == row.id)).one()
        return self._member(row)

    def remove_member(self, caller: Caller, member_id: str) -> dict:
        with self.db.unit_of_work() as uow:
            s = uow.session
            account, row = self._editable_member(s, caller, member_id, forms.TITULAIRE_FIXED)
            s.execute(household_members.delete().where(household_members.c.id == row.id))
            uow.publish_event(EVENT.format("household_member.removed"), {
                "account_id": account.id, "member_id": row.id, "role": row.role}, subject=f"account/{account.id}")
            uow.commit()
        return {"removed": True, "member_id": row.id}

    # --- forgotten login / password ------------------------------------------

    def _recovery_throttle(self, session, namespace: str) -> Throttle:
        return Throttle(DbThrottleStore(session), ThrottlePolicy(max_failures=5), namespace)

    def forgotten_login(self, email: str) -> dict:
        """The login is sent to the email; the same answer whether an account has that email or not."""
        form = forms.load(forms.EmailIn(), {"email": email})
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(sa.select(accounts.c.id, accounts.c.login).where(
                accounts.c.email == form["email"], accounts.c.login.is_not(None))).all()
            for row in rows:
                uow.send_command(NOTIFY, {
                    "template": "login_reminder", "recipient": {"account_id": row.id, "email": form["email"]},
                    "personalisation": {"username": row.login, "login_url": f"{self.settings.public_url}/connexion"},
                    "channel": "email", "security": True}, subject=f"account/{row.id}")
            uow.commit()
        return {"message": msg.FORGOTTEN_LOGIN_SENT}

    def _find_for_recovery(self, session, identifier: str):
        key = identifier.strip().lower()
        query = sa.select(accounts).where(accounts.c.status != AWAITING_ACTIVATION)
        query = (query.where(accounts.c.email == key) if looks_like_email(key)
                 else query.where(accounts.c.login == normalise_login(key)))
        return session.execute(query.order_by(accounts.c.created_at.desc())).first()

    def security_question(self, identifier: str) -> dict:
        """The question to answer before the reset email (towns that use it). An unknown account gets a
        question too, always the same one for the same identifier, so the answer reveals nothing."""
        if self.rules.security_question == "off":
            return {"security_question": None}
        form = forms.load(forms.IdentifierIn(), {"identifier": identifier})
        with self.db.unit_of_work() as uow:
            row = self._find_for_recovery(uow.session, form["identifier"])
        if row is not None and row.security_question:
            key = row.security_question
        elif row is not None and self.rules.security_question != "required":
            return {"security_question": None}
        else:
            keys = sorted(msg.SECURITY_QUESTIONS)
            key = keys[int(_digest(form["identifier"].lower()), 16) % len(keys)]
        return {"security_question": key, "security_question_label": msg.SECURITY_QUESTIONS[key]}

    def forgotten_password(self, identifier: str, security_answer: str | None = None) -> dict:
        form = forms.load(forms.IdentifierIn(), {"identifier": identifier})
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = self._find_for_recovery(s, form["identifier"])
            if row is not None and not row.email:
                raise RecoveryNeedsEmail()
            asks_question = self.rules.security_question != "off" and (
                security_answer is not None
                or (self.rules.security_question == "required" and (row is None or row.security_question)))
            if asks_question:
                throttle = self._recovery_throttle(s, "recovery")
                subject = form["identifier"].lower()
                decision = throttle.check(subject, now)
                if not decision.allowed:
                    raise TooManyRequests(decision.message, retry_after=decision.retry_after_seconds)
                if row is None or not row.security_answer_hash:
                    verify_against_nothing(security_answer or "", hasher=self.hasher)
                    ok = False
                else:
                    ok = verify_security_answer(row.security_answer_hash, security_answer or "", hasher=self.hasher)
                if not ok:
                    throttle.record_failure(subject, now)
                    uow.commit()
                    raise InvalidInput(errors={"security_answer": [msg.SECURITY_ANSWER_WRONG]})
                throttle.record_success(subject, now)
            if row is not None:
                token, expires = self._new_one_time_token(s, row.id, PASSWORD_RESET, self.settings.reset_ttl)
                uow.send_command(NOTIFY, {
                    "template": "password_reset", "recipient": {"account_id": row.id, "email": row.email},
                    "personalisation": {"reset_url": f"{self.settings.public_url}/mot-de-passe?token={token}",
                                        "expires_at": _iso(expires), "username": row.login},
                    "channel": "email", "security": True}, subject=f"account/{row.id}")
            uow.commit()
        return {"message": msg.FORGOTTEN_PASSWORD_SENT}

    def reset_password(self, token: str, password: str, password_confirmation: str) -> dict:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = self._token_row(s, token, PASSWORD_RESET)
            account = s.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
            form = forms.load(PasswordChangeSchema(login=account.login, email=account.email), {
                "current_password": "-", "new_password": password, "new_password_confirmation": password_confirmation})
            s.execute(accounts.update().where(accounts.c.id == account.id).values(
                password_hash=hash_password(form["new_password"], hasher=self.hasher), updated_at=now))
            s.execute(one_time_tokens.update().where(one_time_tokens.c.token_hash == row.token_hash)
                      .values(used_at=now))
            self._revoke_sessions(s, account.id, keep=None, reason="password_reset")
            uow.commit()
        return {"reset": True, "login": account.login,
                "message": "Votre mot de passe a été modifié. Vous pouvez vous connecter."}  # composed

    # --- agents --------------------------------------------------------------

    def create_agent(self, login: str, display_name: str, roles, *, password: str | None = None,
                     totp: bool = True) -> dict:
        unknown = [r for r in roles if r not in AGENT_ROLES and not r.startswith("regisseur:")]
        if unknown:
            raise ValueError(f"unknown agent roles {unknown}; known: {AGENT_ROLES}")
        password = password or generate_password()
        secret = totp_lib.generate_secret() if totp else None
        agent_id = _new_id()
        with self.db.unit_of_work() as uow:
            uow.session.execute(agents.insert().values(
                id=agent_id, login=normalise_login(login), display_name=display_name,
                password_hash=hash_password(password, hasher=self.hasher), totp_secret=secret, roles=list(roles),
                active=True, created_at=self.clock()))
            uow.commit()
        return {"agent_id": agent_id, "login": normalise_login(login), "password": password, "totp_secret": secret,
                "totp_uri": totp_lib.provisioning_uri(secret, login) if secret else None}

    def agent_login(self, login: str, password: str, totp_code: str | None = None, ip: str | None = None) -> dict:
        self.keyring()  # created outside the transaction below on a fresh database
        form = forms.load(forms.LoginIn(), {"identifier": login, "password": password})
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            found = {}

            def lookup(typed):
                row = s.execute(sa.select(agents).where(agents.c.login == normalise_login(typed),
                                                        agents.c.active.is_(True))).first()
                found["row"] = row
                return StoredCredentials(row.id, row.password_hash) if row else None

            throttle = LoginThrottle(DbThrottleStore(s), namespace="agent")
            result = attempt_login(throttle, identifier=form["identifier"], password=form["password"], ip=ip,
                                   now=now, lookup=lookup, hasher=self.hasher)
            if not result.ok:
                uow.commit()
                if result.retry_after:
                    raise TooManyRequests(result.message, retry_after=int(result.retry_after.total_seconds()) + 1)
                raise LoginFailed()
            agent = found["row"]
            if agent.totp_secret:
                if not totp_code:
                    raise InvalidInput(msg.TOTP_REQUIRED, errors={"totp_code": [msg.TOTP_REQUIRED]})
                step = totp_lib.verify(agent.totp_secret, totp_code, now, last_used_step=agent.totp_last_step)
                if step is None:
                    throttle.record_failure(form["identifier"], ip, now)
                    uow.commit()
                    raise InvalidInput(msg.TOTP_INVALID, errors={"totp_code": [msg.TOTP_INVALID]})
                s.execute(agents.update().where(agents.c.id == agent.id).values(totp_last_step=step))
            s.execute(agents.update().where(agents.c.id == agent.id).values(last_login_at=now))
            self._audit(s, agent.id, "login", None)
            tokens = self._start_session(s, subject=agent.id, kind="agent", roles=agent.roles)
            uow.commit()
        return {**tokens, "roles": list(agent.roles), "display_name": agent.display_name}

    def _audit(self, session, agent_id: str, action: str, target: str | None, details: dict | None = None) -> None:
        session.execute(audit_log.insert().values(agent_id=agent_id, action=action, target=target,
                                                  at=self.clock(), details=details))

    def agent_search(self, caller: Caller, query: str | None = None, status: str | None = None,
                     page: int = 1, page_size: int = 20) -> dict:
        caller.require_agent("account_validator")
        page, page_size = max(1, int(page or 1)), min(100, max(1, int(page_size or 20)))
        with self.db.unit_of_work() as uow:
            s = uow.session
            where = []
            if status:
                where.append(accounts.c.status == status)
            if query:
                like = f"%{query.strip().lower()}%"
                where.append(sa.or_(sa.func.lower(accounts.c.birth_name).like(like),
                                    sa.func.lower(accounts.c.usage_name).like(like),
                                    sa.func.lower(accounts.c.first_name).like(like),
                                    accounts.c.email.like(like), accounts.c.login.like(like)))
            total = s.execute(sa.select(sa.func.count()).select_from(accounts).where(*where)).scalar_one()
            rows = s.execute(sa.select(accounts).where(*where).order_by(accounts.c.created_at.desc(), accounts.c.id)
                             .limit(page_size).offset((page - 1) * page_size)).all()
            self._audit(s, caller.subject, "search_accounts", None, {"status": status, "page": page})
            uow.commit()
        return {"total": total, "page": page, "page_size": page_size, "items": [{
            "account_id": r.id, "status": r.status, "account_type": r.account_type, "provisioned": r.provisioned,
            "civility": r.civility, "first_name": r.first_name, "birth_name": r.birth_name,
            "usage_name": r.usage_name, "email": r.email, "login": r.login, "created_at": r.created_at,
        } for r in rows]}

    def agent_validate(self, caller: Caller, account_id: str) -> dict:
        caller.require_agent("account_validator")
        now = self.clock()
        with self.db.unit_of_work() as uow:
            s = uow.session
            row = s.execute(sa.select(accounts).where(accounts.c.id == str(account_id))).first()
            if row is None:
                raise NotFound()
            if row.status != AWAITING_VALIDATION:
                raise Conflict("Ce compte n'est pas en attente de validation.")  # composed
            s.execute(accounts.update().where(accounts.c.id == row.id).values(
                status=ACTIVE, validated_at=now, validated_by=caller.subject, updated_at=now))
            self._audit(s, caller.subject, "validate_account", row.id)
            uow.publish_event(EVENT.format("account.validated"), {"account_id": row.id,
                                                                  "validated_by": caller.subject},
                              subject=f"account/{row.id}")
            uow.send_command(NOTIFY, {"template": "account_validated", "recipient": {"account_id": row.id},
                                      "personalisation": {}}, subject=f"account/{row.id}")
            uow.commit()
        return {"account_id": row.id, "status": ACTIVE}

    def agent_audit(self, caller: Caller, limit: int = 50) -> list[dict]:
        caller.require_agent("administrator")
        with self.db.engine.connect() as connection:
            rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.id.desc())
                                      .limit(min(500, int(limit)))).all()
        return [dict(r._mapping) for r in rows]

    # --- schooled children (activities' events; enfance agents) --------------

    SCHOOL_KEYS = tuple(forms.SchoolSchema().fields)  # what « Enfants scolarisés du foyer » shows per child

    def _set_school(self, uow, account_id: str, member_id: str, school: dict | None) -> str | None:
        """Record a child's schooling (None: no longer schooled); the member's role, or None if the member is
        not a child of that household (removed meanwhile, or a wrong id: nothing to do)."""
        s = uow.session
        row = s.execute(sa.select(household_members).where(household_members.c.id == str(member_id),
                                                           household_members.c.account_id == str(account_id))).first()
        if row is None or row.role != "enfant":
            return None
        if row.school != school:
            s.execute(household_members.update().where(household_members.c.id == row.id)
                      .values(school=school, updated_at=self.clock()))
            uow.publish_event(EVENT.format("household_member.changed"), {
                "account_id": row.account_id, "member_id": row.id, "role": row.role},
                subject=f"account/{row.account_id}")
        return row.role

    def schooling_updated(self, message_id: str, data: dict) -> bool:
        """``activities.schooling.updated``: the school year, school, level and class shown in « Enfants
        scolarisés du foyer ». Handled once (inbox); an unknown member is ignored, not retried."""
        with self.db.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "accounts.schooling_updated"):
                return False
            school = {key: data.get(key) for key in self.SCHOOL_KEYS}
            applied = self._set_school(uow, data["account_id"], data["member_id"], school)
            uow.commit()
        return applied is not None

    def schooling_ended(self, message_id: str, data: dict) -> bool:
        with self.db.unit_of_work() as uow:
            if not uow.inbox.claim(message_id, "accounts.schooling_ended"):
                return False
            applied = self._set_school(uow, data["account_id"], data["member_id"], None)
            uow.commit()
        return applied is not None

    def agent_set_school(self, caller: Caller, account_id: str, member_id: str, school: dict | None) -> dict:
        """An enfance agent records (or clears, with None) a child's schooling: audited."""
        caller.require_agent("enfance")
        form = forms.load(forms.SchoolSchema(), school) if school is not None else None
        with self.db.unit_of_work() as uow:
            school_value = {key: form.get(key) for key in self.SCHOOL_KEYS} if form is not None else None
            if self._set_school(uow, account_id, member_id, school_value) is None:
                raise NotFound("Cet enfant ne fait pas partie de ce foyer.")  # composed
            self._audit(uow.session, caller.subject, "set_school", str(account_id), {"member_id": str(member_id)})
            uow.commit()
        return {"account_id": account_id, "member_id": member_id, "school": school_value}

    # --- city-provisioned accounts (Saint-Joseph) ----------------------------

    def provision_account(self, caller: Caller, data: dict) -> dict:
        """An account created by the town, active at once, with a login and an initial password to print on
        the family's invoice; no email yet (asked at first login)."""
        caller.require_agent("administrator")
        form = forms.load(forms.ProvisionIn(), data)
        now = self.clock()
        account_id = _new_id()
        password = form.pop("password", None) or generate_password()
        with self.db.unit_of_work() as uow:
            s = uow.session
            taken = self._is_login_taken(s)
            login = form.pop("login", None) or propose_login(form["first_name"], form["birth_name"], taken)
            problems = check_login(login)
            if problems or taken(login):
                raise InvalidInput(errors={"login": problems or [msg.LOGIN_TAKEN]})
            problems = check_password(password, login=login)
            if problems:
                raise InvalidInput(errors={"password": problems})
            email = form.pop("email", None)
            phone_mobile = form.pop("phone_mobile", None)
            s.execute(accounts.insert().values(
                id=account_id, status=ACTIVE, account_type="particulier", provisioned=True, email=email,
                phone_mobile=phone_mobile, communication_preference="email", login=login,
                password_hash=hash_password(password, hasher=self.hasher), created_at=now, updated_at=now,
                activated_at=now, **form))
            member_id = self._add_titulaire(s, account_id, form, now)
            self._audit(s, caller.subject, "provision_account", account_id)
            uow.publish_event(EVENT.format("account.registered"), {
                "account_id": account_id, "account_type": "particulier", "status": ACTIVE, "provisioned": True},
                subject=f"account/{account_id}")
            uow.publish_event(EVENT.format("household_member.added"), {
                "account_id": account_id, "member_id": member_id, "role": "titulaire"}, subject=f"account/{account_id}")
            self._send_contact(uow, account_id)
            uow.commit()
        return {"account_id": account_id, "login": login, "password": password,
                "notice": msg.PROVISIONED_FIRST_LOGIN_WARNING}

    def import_families(self, caller: Caller, text: str) -> list[dict]:
        """CSV (``;`` or ``,``) with a header among civility, birth_name, first_name, birth_date, family_file_ref,
        login, password, email, phone_mobile; one account per line; returns login and password per line."""
        caller.require_agent("administrator")
        if text.count("\n") > MAX_IMPORT_LINES:
            raise InvalidInput(errors={"file": [f"Le fichier dépasse {MAX_IMPORT_LINES} lignes : "
                                                "découpez-le ou utilisez la commande guichet-accounts."]})  # composed
        sample = text[:2048]
        dialect = csv.Sniffer().sniff(sample, delimiters=";,") if sample.strip() else csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        results = []
        for line, raw in enumerate(reader, start=2):
            data = {k.strip(): (v or "").strip() for k, v in raw.items() if k and (v or "").strip()}
            try:
                created = self.provision_account(caller, data)
                results.append({"line": line, **created})
            except InvalidInput as error:
                results.append({"line": line, "errors": error.errors})
        return results

    # --- family file (billing verifies; here only the reference) -------------

    def set_family_file_ref(self, caller: Caller, account_id: str, ref: str | None) -> dict:
        caller.require_agent("enfance", "regisseur")
        ref = (ref or "").strip() or None
        if ref is not None and len(ref) > 64:
            raise InvalidInput(errors={"family_file_ref": ["64 caractères au plus."]})  # composed
        with self.db.unit_of_work() as uow:
            count = uow.session.execute(accounts.update().where(accounts.c.id == str(account_id))
                                        .values(family_file_ref=ref, updated_at=self.clock())).rowcount
            if not count:
                raise NotFound()
            self._audit(uow.session, caller.subject, "set_family_file_ref", str(account_id))
            uow.commit()
        return {"account_id": account_id, "family_file_ref": ref}
