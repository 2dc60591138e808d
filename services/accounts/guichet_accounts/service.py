"""Entrypoints of the accounts service (RPC, event and command handlers) and nothing else.

Each entrypoint calls one use case of the application object that
``bootstrap.build`` wires once per container and dumps its answer through the
accounts API contract's schema (``schemas.py`` says which), so an answer holds
the listed fields only. Citizen RPCs act on ``self.caller``'s own account;
agent RPCs check roles in the use case.
"""
from __future__ import annotations

import logging
import os

from nameko.timer import timer

from guichet_common.messaging import ApplicationProvider, DatabaseProvider, event_handler, rpc
from guichet_common.service import GuichetService
from guichet_contracts import types
from guichet_contracts.api import accounts as answers

from . import bootstrap
from . import schemas as s
from .models import metadata

log = logging.getLogger(__name__)

PURGE_INTERVAL = float(os.environ.get("GUICHET_ACCOUNTS_PURGE_INTERVAL", "3600"))


class AccountsService(GuichetService):
    name = "accounts"
    db = DatabaseProvider(metadata)
    app = ApplicationProvider(bootstrap.build)

    # --- housekeeping --------------------------------------------------------

    @timer(interval=PURGE_INTERVAL)
    def purge_expired(self):
        # Every replica runs it; the deletes are idempotent, so no leader is needed.
        purged = self.app.housekeeping.purge_expired()
        if any(purged.values()):
            log.info("expired accounts data purged", extra={"fields": purged})

    # --- events of other services ----------------------------------------------

    @event_handler("activities", types.SCHOOLING_UPDATED)
    def on_schooling_updated(self, event):
        self.app.schooling.schooling_updated(event["id"], event["data"])

    @event_handler("activities", types.SCHOOLING_ENDED)
    def on_schooling_ended(self, event):
        self.app.schooling.schooling_ended(event["id"], event["data"])

    # --- public --------------------------------------------------------------

    @rpc
    def public_keys(self):
        return answers.PublicKeys().dump(self.app.sessions.public_keys())

    @rpc
    def new_captcha(self):
        return answers.Captcha().dump(self.app.registration.new_captcha())

    @rpc
    def captcha_audio(self, captcha_id):
        return answers.CaptchaAudio().dump(self.app.registration.captcha_audio(captcha_id))

    @rpc
    def register(self, registration, validate_only=False):
        answer = self.app.registration.register(registration, validate_only=bool(validate_only))
        return (answers.RegistrationRecap() if validate_only else answers.Registered()).dump(answer)

    @rpc
    def activation_preview(self, token):
        return answers.ActivationPreview().dump(self.app.activation.activation_preview(token))

    @rpc
    def activate(self, token, password, password_confirmation, login=None):
        return answers.CitizenSession().dump(self.app.activation.activate(token, login, password,
                                                                          password_confirmation))

    @rpc
    def login(self, identifier, password, ip=None):
        return answers.CitizenSession().dump(self.app.sessions.login(identifier, password, ip))

    @rpc
    def refresh(self, refresh_token):
        return answers.Tokens().dump(self.app.sessions.refresh(refresh_token))

    @rpc
    def logout(self, refresh_token=None):
        return answers.LoggedOut().dump(self.app.sessions.logout(self.caller, refresh_token))

    @rpc
    def forgotten_login(self, email):
        return answers.Acknowledgement().dump(self.app.recovery.forgotten_login(email))

    @rpc
    def security_question(self, identifier):
        return answers.SecurityQuestion().dump(self.app.recovery.security_question(identifier))

    @rpc
    def forgotten_password(self, identifier, security_answer=None):
        return answers.Acknowledgement().dump(self.app.recovery.forgotten_password(identifier, security_answer))

    @rpc
    def reset_password(self, token, password, password_confirmation):
        return answers.PasswordWasReset().dump(self.app.recovery.reset_password(token, password,
                                                                                 password_confirmation))

    # --- citizen -------------------------------------------------------------

    @rpc
    def me(self):
        return answers.Profile().dump(self.app.profile.me(self.caller))

    @rpc
    def update_me(self, changes):
        return answers.Profile().dump(self.app.profile.update_me(self.caller, changes))

    @rpc
    def change_password(self, current_password, new_password, new_password_confirmation):
        return answers.PasswordWasChanged().dump(self.app.profile.change_password(
            self.caller, current_password, new_password, new_password_confirmation))

    @rpc
    def household(self):
        return answers.Household().dump(self.app.household.household(self.caller))

    @rpc
    def add_member(self, member):
        return answers.HouseholdMember().dump(self.app.household.add_member(self.caller, member))

    @rpc
    def update_member(self, member_id, changes):
        return answers.HouseholdMember().dump(self.app.household.update_member(self.caller, member_id, changes))

    @rpc
    def remove_member(self, member_id):
        return answers.MemberRemoved().dump(self.app.household.remove_member(self.caller, member_id))

    # --- agents --------------------------------------------------------------

    @rpc
    def agent_login(self, login, password, totp_code=None, ip=None):
        return answers.AgentSession().dump(self.app.agents.agent_login(login, password, totp_code, ip))

    @rpc
    def agent_search(self, query=None, status=None, cursor=None, limit=None):
        args = s.load_given(s.AccountSearchArgs(), q=query, status=status, cursor=cursor, limit=limit)
        return answers.AccountSummaryPage().dump(self.app.agents.agent_search(
            self.caller, args["q"], args["status"], cursor=args["cursor"], limit=args["limit"]))

    @rpc
    def agent_validate(self, account_id):
        return answers.AccountStatus().dump(self.app.agents.agent_validate(self.caller, account_id))

    @rpc
    def agent_provision(self, account):
        return answers.ProvisionedAccount().dump(self.app.provisioning.provision_account(self.caller, account))

    @rpc
    def agent_import_families(self, csv_text):
        return answers.ImportLine(many=True).dump(self.app.provisioning.import_families(self.caller, csv_text))

    @rpc
    def agent_set_family_file(self, account_id, family_file_ref=None):
        return answers.AccountFamilyFile().dump(self.app.provisioning.set_family_file_ref(
            self.caller, account_id, family_file_ref))

    @rpc
    def agent_set_school(self, account_id, member_id, school=None):
        return answers.MemberSchooling().dump(self.app.schooling.agent_set_school(
            self.caller, account_id, member_id, school))

    @rpc
    def agent_audit(self, cursor=None, limit=None):
        args = s.load_given(s.AuditArgs(), cursor=cursor, limit=limit)
        return answers.AuditPage().dump(self.app.agents.agent_audit(self.caller, **args))
