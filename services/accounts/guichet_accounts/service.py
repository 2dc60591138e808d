"""Entrypoints of the accounts service (RPC, event and command handlers) and nothing else.

The logic is in ``handlers.Accounts`` (one unit of work per call) and ``domain/``.
Citizen RPCs act on ``self.caller``'s own account; agent RPCs check roles.
"""
from __future__ import annotations

import functools
import logging
import os

from eventlet import tpool
from nameko.timer import timer

from guichet_common import town
from guichet_common.config import load_settings
from guichet_common.messaging import DatabaseProvider, event_handler, rpc
from guichet_common.service import GuichetService

from .domain import captcha
from .handlers import Accounts, AccountsSettings
from .hashing import offloaded_hasher
from .models import metadata

log = logging.getLogger(__name__)

PURGE_INTERVAL = float(os.environ.get("GUICHET_ACCOUNTS_PURGE_INTERVAL", "3600"))
HASHER = offloaded_hasher()


@functools.lru_cache(maxsize=1)
def accounts_settings() -> AccountsSettings:
    path = load_settings().town_settings
    return AccountsSettings.from_town(town.current_town(str(path) if path else None))


class AccountsDatabase(DatabaseProvider):
    def setup(self):
        accounts_settings()  # the town's ``accounts`` section is checked at start-up: a clear error, no service
        super().setup()


class AccountsService(GuichetService):
    name = "accounts"
    db = AccountsDatabase(metadata)

    @property
    def app(self) -> Accounts:
        return Accounts(self.db, accounts_settings(), hasher=HASHER)

    # --- housekeeping --------------------------------------------------------

    @timer(interval=PURGE_INTERVAL)
    def purge_expired(self):
        # Every replica runs it; the deletes are idempotent, so no leader is needed.
        purged = self.app.purge_expired()
        if any(purged.values()):
            log.info("expired accounts data purged", extra={"fields": purged})

    # --- events of other services ----------------------------------------------

    @event_handler("activities", "fr.guichet.activities.schooling.updated.v1")
    def on_schooling_updated(self, event):
        self.app.schooling_updated(event["id"], event["data"])

    @event_handler("activities", "fr.guichet.activities.schooling.ended.v1")
    def on_schooling_ended(self, event):
        self.app.schooling_ended(event["id"], event["data"])

    # --- public --------------------------------------------------------------

    @rpc
    def public_keys(self):
        return self.app.public_keys()

    @rpc
    def new_captcha(self):
        return self.app.new_captcha()

    @rpc
    def captcha_audio(self, captcha_id):
        # Mixing the audio is about 0.3 s of pure-Python CPU: in eventlet's OS-thread pool the hub gets its
        # turns at the GIL and keeps serving the other calls, instead of freezing them all meanwhile.
        return self.app.captcha_audio(captcha_id, render=lambda text: tpool.execute(captcha.render_wav, text))

    @rpc
    def register(self, registration, validate_only=False):
        return self.app.register(registration, validate_only=bool(validate_only))

    @rpc
    def activation_preview(self, token):
        return self.app.activation_preview(token)

    @rpc
    def activate(self, token, password, password_confirmation, login=None):
        return self.app.activate(token, login, password, password_confirmation)

    @rpc
    def login(self, identifier, password, ip=None):
        return self.app.login(identifier, password, ip)

    @rpc
    def refresh(self, refresh_token):
        return self.app.refresh(refresh_token)

    @rpc
    def logout(self, refresh_token=None):
        return self.app.logout(self.caller, refresh_token)

    @rpc
    def forgotten_login(self, email):
        return self.app.forgotten_login(email)

    @rpc
    def security_question(self, identifier):
        return self.app.security_question(identifier)

    @rpc
    def forgotten_password(self, identifier, security_answer=None):
        return self.app.forgotten_password(identifier, security_answer)

    @rpc
    def reset_password(self, token, password, password_confirmation):
        return self.app.reset_password(token, password, password_confirmation)

    # --- citizen -------------------------------------------------------------

    @rpc
    def me(self):
        return self.app.me(self.caller)

    @rpc
    def update_me(self, changes):
        return self.app.update_me(self.caller, changes)

    @rpc
    def change_password(self, current_password, new_password, new_password_confirmation):
        return self.app.change_password(self.caller, current_password, new_password, new_password_confirmation)

    @rpc
    def household(self):
        return self.app.household(self.caller)

    @rpc
    def add_member(self, member):
        return self.app.add_member(self.caller, member)

    @rpc
    def update_member(self, member_id, changes):
        return self.app.update_member(self.caller, member_id, changes)

    @rpc
    def remove_member(self, member_id):
        return self.app.remove_member(self.caller, member_id)

    # --- agents --------------------------------------------------------------

    @rpc
    def agent_login(self, login, password, totp_code=None, ip=None):
        return self.app.agent_login(login, password, totp_code, ip)

    @rpc
    def agent_search(self, query=None, status=None, page=1, page_size=20):
        return self.app.agent_search(self.caller, query, status, page, page_size)

    @rpc
    def agent_validate(self, account_id):
        return self.app.agent_validate(self.caller, account_id)

    @rpc
    def agent_provision(self, account):
        return self.app.provision_account(self.caller, account)

    @rpc
    def agent_import_families(self, csv_text):
        return self.app.import_families(self.caller, csv_text)

    @rpc
    def agent_set_family_file(self, account_id, family_file_ref=None):
        return self.app.set_family_file_ref(self.caller, account_id, family_file_ref)

    @rpc
    def agent_set_school(self, account_id, member_id, school=None):
        return self.app.agent_set_school(self.caller, account_id, member_id, school)

    @rpc
    def agent_audit(self, limit=50):
        return self.app.agent_audit(self.caller, limit)
