"""« Mon compte »: the citizen's profile, its changes (events without values) and the change of password."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from guichet_common.auth import Caller
from guichet_common.errors import InvalidInput
from guichet_contracts import types

from .. import schemas
from ..domain import initial_passwords
from ..domain import messages as msg
from ..domain.authentication import last_login_label
from ..domain.password_forms import PasswordChangeSchema
from ..domain.passwords import hash_security_answer, verify_password
from ..domain.registration import (
    ACTIVE,
    AWAITING_VALIDATION,
    RegistrationSchema,
    ensure_can_modify_account,
)
from .base import UseCases, subject_of
from .registration import CIVIL_FIELDS

CONTACT_FIELDS = ("email", "phones", "communication_preference")
ORGANISATION_FIELDS = ("account_type", "organisation_name", "siret", "rna")
PROFILE_FIELDS = (*CIVIL_FIELDS, *CONTACT_FIELDS, "address", *ORGANISATION_FIELDS)
# The groups named in ``account.updated`` events (which carry no values).
CHANGE_GROUPS = (("civil", CIVIL_FIELDS), ("organisation", ORGANISATION_FIELDS), ("address", ("address",)))
SECURITY_FIELDS = ("security_question", "security_answer")


def _phones(row) -> dict:
    return {k: v for k, v in (("personal", row.phone_personal), ("mobile", row.phone_mobile),
                              ("office", row.phone_office)) if v}


def _contact_values(form: dict) -> dict:
    phones = form.get("phones") or {}
    return {"email": form.get("email"), "phone_personal": phones.get("personal"),
            "phone_mobile": phones.get("mobile"), "phone_office": phones.get("office"),
            "communication_preference": form.get("communication_preference")}


def _notice(row) -> str | None:
    if row.status == AWAITING_VALIDATION:
        return msg.ACCOUNT_NOT_VALIDATED
    return msg.PROVISIONED_EMAIL_MISSING if not row.email else None


def _changed_values(row, changes: dict, form: dict) -> tuple[dict[str, Any], list[str]]:
    """The columns that really change, and the groups they belong to (for the event)."""
    values: dict[str, Any] = {}
    changed: list[str] = []
    for group, names in CHANGE_GROUPS:
        for name in names:
            if name in changes and form.get(name) != getattr(row, name):
                values[name] = form.get(name)
                if group not in changed:
                    changed.append(group)
    contact = _contact_values(form)
    if any(name in changes for name in CONTACT_FIELDS) and any(contact[k] != getattr(row, k) for k in contact):
        values.update(contact)
        changed.append("contact")
    return values, changed


class Profile(UseCases):
    def profile(self, repos, row) -> dict:
        social = repos.accounts.social(row.id)
        return {
            "account_id": row.id, "status": row.status, "account_type": row.account_type,
            "provisioned": row.provisioned, "login": row.login,
            **{f: getattr(row, f) for f in CIVIL_FIELDS},
            "email": row.email, "phones": _phones(row),
            "address": row.address, "organisation_name": row.organisation_name, "siret": row.siret,
            "rna": row.rna, "communication_preference": row.communication_preference,
            "security_question": row.security_question,
            "security_question_label": msg.SECURITY_QUESTIONS.get(row.security_question),
            "family_file_ref": row.family_file_ref,
            "social": ({c: getattr(social, c) for c in schemas.SocialDataSchema().fields} if social else {}),
            "last_login": (last_login_label(row.previous_login_at, self.settings.timezone)
                           if row.previous_login_at else None),
            "email_required": not row.email,
            "password_change_required": initial_passwords.must_change(row.initial_password_expires_at),
            "can_pay_online": bool(row.email),
            "can_modify": row.status == ACTIVE,
            "notice": _notice(row),
        }

    def me(self, caller: Caller) -> dict:
        with self.work() as (_, repos):
            return self.profile(repos, self.citizen_account(repos, caller))

    def update_me(self, caller: Caller, changes: dict) -> dict:
        if not isinstance(changes, dict):
            raise InvalidInput(errors={"_schema": [msg.INPUT_NOT_OBJECT]})
        now = self.clock()
        with self.work() as (uow, repos):
            row = self.citizen_account(repos, caller)
            ensure_can_modify_account(row.status)
            initial_passwords.ensure_password_chosen(row.initial_password_expires_at)
            changes = dict(changes)
            social_changes = changes.pop("social", None)
            security = {name: changes.pop(name, None) for name in SECURITY_FIELDS}
            unknown = sorted(set(changes) - set(PROFILE_FIELDS))
            if unknown:
                raise InvalidInput(errors={name: [msg.FIELD_UNKNOWN] for name in unknown})
            form = self._form(repos, row, changes, security, now)
            values, changed = _changed_values(row, changes, form)
            if any(v is not None for v in security.values()):
                answer = form.get("security_answer")
                values["security_question"] = form.get("security_question")
                values["security_answer_hash"] = hash_security_answer(answer, hasher=self.hasher) if answer else None
                changed.append("security_question")
            if social_changes is not None and self._save_social(repos, row.id, social_changes, now):
                changed.append("social")
            self._save(uow, repos, row.id, values, changed, form, now)
            uow.commit()
            return self.profile(repos, self.citizen_account(repos, caller))

    def _form(self, repos, row, changes: dict, security: dict, now: dt.datetime) -> dict:
        """The profile as it would be, checked by the registration form's rules (no captcha at this point)."""
        current = self.profile(repos, row)
        merged = {f: current[f] for f in PROFILE_FIELDS if current.get(f) not in (None, {}, "")}
        if isinstance(merged.get("birth_date"), dt.date):
            merged["birth_date"] = merged["birth_date"].isoformat()
        merged.update(changes)
        merged["cgu_accepted"] = True
        rules = dataclasses.replace(self.rules, captcha=False, security_question=(
            "off" if self.rules.security_question == "off" else "optional"))
        asked = any(v is not None for v in security.values())
        if asked:
            merged.update(security)
        if not (row.provisioned and set(changes) <= set(CONTACT_FIELDS)):
            return schemas.load(RegistrationSchema(rules, today=now.date()), merged)
        # A town-created account has only names: its first task is to give an email (seed 002).
        contact_form = schemas.load(schemas.ContactIn(), {k: merged.get(k) for k in CONTACT_FIELDS
                                                          if merged.get(k) is not None})
        form = {**{f: getattr(row, f) for f in (*CIVIL_FIELDS, *ORGANISATION_FIELDS, "address")}, **contact_form}
        if asked:
            form.update(schemas.load(RegistrationSchema(rules, today=now.date(), only=SECURITY_FIELDS), security))
        return form

    @staticmethod
    def _save_social(repos, account_id: str, social_changes, now) -> bool:
        social = schemas.load(schemas.SocialDataSchema(), social_changes, partial=True)
        if social:
            repos.accounts.save_social(account_id, social, now)
        return bool(social)

    def _save(self, uow, repos, account_id: str, values: dict, changed: list[str], form: dict, now) -> None:
        if values:
            repos.accounts.update(account_id, **values, updated_at=now)
        if "civil" in changed:
            repos.household.update_titulaire(account_id, civility=form.get("civility"),
                                             birth_name=form.get("birth_name"), usage_name=form.get("usage_name"),
                                             first_name=form.get("first_name"), birth_date=form.get("birth_date"),
                                             updated_at=now)
        if changed:
            uow.publish_event(types.ACCOUNT_UPDATED, {"account_id": account_id, "changed": changed},
                              subject=subject_of(account_id))
        if "contact" in changed:
            self.send_contact(uow, repos, account_id)

    def change_password(self, caller: Caller, current_password: str, new_password: str,
                        new_password_confirmation: str) -> dict:
        """Change of password; the other sessions end (issue 4), this one goes on."""
        now = self.clock()
        with self.work() as (uow, repos):
            row = self.citizen_account(repos, caller)
            form = schemas.load(PasswordChangeSchema(login=row.login, email=row.email), {
                "current_password": current_password, "new_password": new_password,
                "new_password_confirmation": new_password_confirmation})
            if not row.password_hash or not verify_password(row.password_hash, form["current_password"],
                                                            hasher=self.hasher):
                raise InvalidInput(errors={"current_password": [msg.PASSWORD_CURRENT_WRONG]})
            repos.accounts.update(row.id, password_hash=self.hash(form["new_password"]), updated_at=now,
                                  initial_password_expires_at=None)  # chosen by the citizen
            ended = repos.sessions.revoke_all(row.id, keep=caller.session, now=now, reason="password_change")
            uow.commit()
        return {"changed": True, "sessions_ended": ended}
