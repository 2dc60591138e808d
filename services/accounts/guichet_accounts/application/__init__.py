"""The accounts application layer: the use cases, one module per group, each call one unit of work.

``AccountsApplication`` is what the nameko entrypoints (service.py), the CLI
and the demo loader call: bootstrap.py builds it from the town's settings,
the database and the adapters. It takes a ``guichet_common.db.Database``, so
the unit tests run it on a SQLite file without any broker. Every citizen use
case acts on ``caller.subject``'s own account only; agent use cases check the
caller's roles and write the audit log in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from guichet_common.db import Database, utcnow

from ..adapters.captcha_media import CaptchaMedia
from ..adapters.keys import KeyStore
from ..adapters.secrets import ServiceSecrets
from .activation import Activation
from .agents import Agents
from .base import Context
from .household import Household
from .housekeeping import Housekeeping
from .profile import Profile
from .provisioning import Provisioning
from .recovery import Recovery
from .registration import Registration
from .schooling import Schooling
from .sessions import Sessions

if TYPE_CHECKING:
    from ..bootstrap import AccountsSettings


class AccountsApplication:
    def __init__(self, database: Database, settings: AccountsSettings, *, hasher: PasswordHasher | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, media: CaptchaMedia | None = None):
        keys = KeyStore(database, passphrase=settings.key_passphrase, clock=clock)
        self.context = Context(db=database, settings=settings, hasher=hasher, clock=clock, keys=keys,
                               media=media or CaptchaMedia(), secrets=ServiceSecrets(database, clock=clock))
        self.db = database
        self.registration = Registration(self.context)
        self.activation = Activation(self.context)
        self.sessions = Sessions(self.context)
        self.recovery = Recovery(self.context)
        self.profile = Profile(self.context)
        self.household = Household(self.context)
        self.agents = Agents(self.context)
        self.provisioning = Provisioning(self.context)
        self.schooling = Schooling(self.context)
        self.housekeeping = Housekeeping(self.context)


__all__ = ["AccountsApplication"]
