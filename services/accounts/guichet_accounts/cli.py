"""``guichet-accounts``: operator commands of the accounts service.

    guichet-accounts import-families FILE.csv [--agent ID]   town-provisioned accounts (Saint-Joseph)
    guichet-accounts create-agent LOGIN "Name" ROLE [ROLE…] [--no-totp]
    guichet-accounts rotate-keys | retire-keys [--grace-hours N]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys

from guichet_common import migrations
from guichet_common.auth import Caller
from guichet_common.config import load_settings
from guichet_common.db import Database

from . import bootstrap
from .application import AccountsApplication
from .models import metadata


def _app() -> AccountsApplication:
    url = load_settings().database_url("accounts")
    migrations.upgrade("guichet_accounts", url)
    return bootstrap.for_operator(Database("accounts", url, metadata))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="guichet-accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-families", help="create provisioned accounts from a CSV file")
    imp.add_argument("file")
    imp.add_argument("--agent", default="cli", help="agent id written in the audit log")
    agent = sub.add_parser("create-agent")
    agent.add_argument("login")
    agent.add_argument("display_name")
    agent.add_argument("roles", nargs="+")
    agent.add_argument("--no-totp", action="store_true")
    sub.add_parser("rotate-keys")
    retire = sub.add_parser("retire-keys")
    retire.add_argument("--grace-hours", type=float, default=1.0)
    args = parser.parse_args(argv)
    app = _app()
    if args.command == "import-families":
        with open(args.file, encoding="utf-8-sig") as handle:
            results = app.provisioning.import_families(Caller(kind="agent", subject=args.agent, roles=("administrator",)),
                                          handle.read())
        out = csv.writer(sys.stdout, delimiter=";")
        out.writerow(["line", "account_id", "login", "password", "errors"])
        for row in results:
            out.writerow([row["line"], row.get("account_id", ""), row.get("login", ""), row.get("password", ""),
                          row.get("errors", "")])
        return 1 if any("errors" in row for row in results) else 0
    if args.command == "create-agent":
        created = app.agents.create_agent(args.login, args.display_name, args.roles, totp=not args.no_totp)
        print(f"agent {created['login']} password {created['password']}")
        if created["totp_uri"]:
            print(f"TOTP: {created['totp_uri']}")
        return 0
    if args.command == "rotate-keys":
        print(app.sessions.rotate_keys())
        return 0
    print(app.sessions.retire_keys(dt.timedelta(hours=args.grace_hours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
