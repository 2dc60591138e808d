"""Town-provisioned accounts (Saint-Joseph): one family or a CSV file of them, and the family file reference."""
from __future__ import annotations

import csv
import io

from guichet_common.auth import Caller
from guichet_common.errors import InvalidInput, NotFound
from guichet_contracts import types

from .. import schemas
from ..domain import messages as msg
from ..domain.initial_passwords import expiry_of_initial_password
from ..domain.logins import check_login, propose_login
from ..domain.passwords import check_password, generate_password
from ..domain.registration import ACTIVE
from .base import UseCases, new_id, subject_of

MAX_IMPORT_LINES = 500  # one RPC; larger files go through the ``guichet-accounts import-families`` command
FAMILY_FILE_REF_LENGTH = 64


def _csv_rows(text: str) -> list[tuple[int, dict]]:
    """(line number, non-blank values) of a CSV text separated by ``;`` or ``,``, with a header line; a text
    that is not such a CSV is the agent's mistake (422), not the service's."""
    sample = text[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,") if sample.strip() else csv.excel
    except csv.Error:
        raise InvalidInput(errors={"file": [msg.CSV_DELIMITER_UNKNOWN]}) from None
    try:
        return [(line, {k.strip(): (v or "").strip() for k, v in raw.items() if k and (v or "").strip()})
                for line, raw in enumerate(csv.DictReader(io.StringIO(text), dialect=dialect), start=2)]
    except csv.Error:
        raise InvalidInput(errors={"file": [msg.CSV_UNREADABLE]}) from None


class Provisioning(UseCases):
    def provision_account(self, caller: Caller, data: dict) -> dict:
        """An account created by the town, active at once, with a login and an initial password to print on
        the family's invoice; no email yet (asked at first login)."""
        caller.require_agent("administrator")
        form = schemas.load(schemas.ProvisionIn(), data)
        now = self.clock()
        account_id = new_id()
        password = form.pop("password", None) or generate_password()
        with self.work() as (uow, repos):
            taken = repos.accounts.login_taken
            login = form.pop("login", None) or propose_login(form["first_name"], form["birth_name"], taken)
            problems = check_login(login)
            if problems or taken(login):
                raise InvalidInput(errors={"login": problems or [msg.LOGIN_TAKEN]})
            problems = check_password(password, login=login)
            if problems:
                raise InvalidInput(errors={"password": problems})
            repos.accounts.insert(
                id=account_id, status=ACTIVE, account_type="particulier", provisioned=True,
                email=form.pop("email", None), phone_mobile=form.pop("phone_mobile", None),
                communication_preference="email", login=login, password_hash=self.hash(password),
                initial_password_expires_at=expiry_of_initial_password(now, self.settings.initial_password_ttl),
                created_at=now, updated_at=now, activated_at=now, **form)
            member_id = self.add_titulaire(repos, account_id, form, now)
            self.audit(repos, caller.subject, "provision_account", account_id)
            uow.publish_event(types.ACCOUNT_REGISTERED, {
                "account_id": account_id, "account_type": "particulier", "status": ACTIVE, "provisioned": True},
                subject=subject_of(account_id))
            uow.publish_event(types.HOUSEHOLD_MEMBER_ADDED, {
                "account_id": account_id, "member_id": member_id, "role": "titulaire"}, subject=subject_of(account_id))
            self.send_contact(uow, repos, account_id)
            uow.commit()
        return {"account_id": account_id, "login": login, "password": password,
                "notice": msg.PROVISIONED_FIRST_LOGIN_WARNING}

    def reissue_password(self, caller: Caller, account_id: str, password: str | None = None) -> dict:
        """A new initial password for a town-provisioned family that lost the printed one or let it expire
        (without an email it cannot recover it): provisional again, its sessions end; audited."""
        caller.require_agent("administrator")
        now = self.clock()
        with self.work() as (uow, repos):
            row = repos.accounts.get(account_id)
            if row is None or not row.provisioned:
                raise NotFound()
            password = password or generate_password()
            problems = check_password(password, login=row.login, email=row.email)
            if problems:
                raise InvalidInput(errors={"password": problems})
            repos.accounts.update(row.id, password_hash=self.hash(password), updated_at=now,
                                  initial_password_expires_at=expiry_of_initial_password(
                                      now, self.settings.initial_password_ttl))
            repos.sessions.revoke_all(row.id, keep=None, now=now, reason="password_reset")
            self.audit(repos, caller.subject, "reissue_password", row.id)
            uow.commit()
        return {"account_id": row.id, "login": row.login, "password": password,
                "notice": msg.PROVISIONED_FIRST_LOGIN_WARNING}

    def import_families(self, caller: Caller, text: str) -> list[dict]:
        """CSV (``;`` or ``,``) with a header among civility, birth_name, first_name, birth_date, family_file_ref,
        login, password, email, phone_mobile; one account (one unit of work) per line; returns login and
        password per line."""
        caller.require_agent("administrator")
        if text.count("\n") > MAX_IMPORT_LINES:
            raise InvalidInput(errors={"file": [f"Le fichier dépasse {MAX_IMPORT_LINES} lignes : "
                                                "découpez-le ou utilisez la commande guichet-accounts."]})  # composed
        results = []
        for line, data in _csv_rows(text):
            try:
                results.append({"line": line, **self.provision_account(caller, data)})
            except InvalidInput as error:
                results.append({"line": line, "errors": error.errors})
        return results

    def set_family_file_ref(self, caller: Caller, account_id: str, ref: str | None) -> dict:
        """The family file the town's billing knows the household by (billing checks it; here only the ref)."""
        caller.require_agent("enfance", "regisseur")
        ref = (ref or "").strip() or None
        if ref is not None and len(ref) > FAMILY_FILE_REF_LENGTH:
            raise InvalidInput(errors={"family_file_ref": ["64 caractères au plus."]})  # composed
        with self.work() as (uow, repos):
            if not repos.accounts.update(account_id, family_file_ref=ref, updated_at=self.clock()):
                raise NotFound()
            self.audit(repos, caller.subject, "set_family_file_ref", str(account_id))
            uow.commit()
        return {"account_id": account_id, "family_file_ref": ref}
