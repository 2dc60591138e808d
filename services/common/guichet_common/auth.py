"""The caller of an RPC, as the gateway authenticated it, and the checks services make.

The gateway verifies the access token and passes the caller in the RPC
headers; each service decides for itself what that caller may do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Caller:
    kind: str = "anonymous"  # anonymous | citizen | agent | service
    subject: str | None = None  # account id or agent id
    roles: tuple[str, ...] = field(default=())
    session: str | None = None

    @classmethod
    def from_header(cls, raw) -> "Caller":
        if not raw:
            return cls()
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        return cls(kind=data.get("kind", "anonymous"), subject=data.get("sub"),
                   roles=tuple(data.get("roles") or ()), session=data.get("sid"))

    def to_header(self) -> str:
        return json.dumps({"kind": self.kind, "sub": self.subject, "roles": list(self.roles), "sid": self.session},
                          separators=(",", ":"))

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous" and bool(self.subject)

    def require_authenticated(self) -> "Caller":
        if not self.authenticated:
            raise Unauthenticated()
        return self

    def require_citizen(self, account_id: str | None = None) -> "Caller":
        """A citizen, and if ``account_id`` is given, that very citizen."""
        self.require_authenticated()
        if self.kind != "citizen" or (account_id is not None and account_id != self.subject):
            raise Forbidden()
        return self

    def require_agent(self, *roles: str) -> "Caller":
        """An agent holding one of ``roles`` (administrators hold them all)."""
        self.require_authenticated()
        if self.kind != "agent":
            raise Forbidden()
        if roles and "administrator" not in self.roles and not set(roles) & set(self.roles):
            raise Forbidden()
        return self
