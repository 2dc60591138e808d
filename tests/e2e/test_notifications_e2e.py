"""Notifications end to end: a command on the real broker, the real notifications process, a mail in
the development mail catcher (a real SMTP server), and the citizen's history through the real gateway.

The gateway verifies access tokens with ``accounts.public_keys``: a test-only ``accounts`` service
(tests/support/guichet_fake_accounts) publishes the JWKS of a key this test generated and signs with.
"""
from __future__ import annotations

import json
import socket
import urllib.request

import pytest
import sqlalchemy as sa
import yaml
from guichet_fake_accounts import SERVICE as FAKE_ACCOUNTS
from guichet_fake_accounts.service import metadata as fake_accounts_metadata

from guichet_accounts.domain.tokens import KeyRing, issue_access_token
from guichet_common.testing import migrated_service, publish, wait_for
from guichet_contracts import types
from guichet_contracts.envelope import make_envelope
from guichet_devtools.mailcatcher import MailCatcher

from .test_suite import start_gateway

pytestmark = pytest.mark.e2e

ACCOUNT = "5d2c7e1a-0b3f-4c6d-8e9a-1f2b3c4d5e6f"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, json.loads(response.read())


def test_a_command_gives_one_mail_and_the_citizen_sees_it_in_the_history(processes, databases, amqp_uri,
                                                                          tmp_path):
    smtp_port = free_port()
    catcher = MailCatcher(tmp_path / "mail", smtp_port=smtp_port, http_port=0).start()
    try:
        town = tmp_path / "town.yaml"
        town.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512",
                                        "public_url": "https://ville.example"}), encoding="utf-8")
        migrated_service(processes, databases, "notifications", GUICHET_TOWN_SETTINGS=str(town),
                         GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
                         GUICHET_NOTIFICATIONS_SMTP_PORT=smtp_port,
                         GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2")
        keyring = KeyRing.new()
        key_file = tmp_path / "accounts-key.pem"
        key_file.write_bytes(keyring.current.to_pem())
        accounts_db = databases.new("accounts")
        engine = sa.create_engine(accounts_db)
        fake_accounts_metadata.create_all(engine)
        engine.dispose()
        processes.service(FAKE_ACCOUNTS, "accounts", accounts_db, GUICHET_TEST_ACCOUNTS_KEY_FILE=str(key_file))
        api = start_gateway(processes) + "/api/v1"

        for type_, data in [
            (types.CONTACT_UPDATED,
             {"account_id": ACCOUNT, "email": "paul.durand@example.org", "preference": "email",
              "display_name": "Paul Durand"}),
            (types.NOTIFICATION_REQUESTED,
             {"template": "account_activation", "recipient": {"account_id": ACCOUNT}, "security": True,
              "personalisation": {"activation_url": "https://ville.example/activation?token=abc",
                                  "expires_at": "2026-03-05T10:00:00+01:00"}}),
        ]:
            envelope = make_envelope(type=type_, source="accounts", data=data)
            publish(amqp_uri, "notifications.commands", type_, envelope)
        [mail] = wait_for(lambda: catcher.mailbox.messages(), timeout=20, message="the activation mail")
        assert mail["recipients"] == ["paul.durand@example.org"]
        assert "https://ville.example/activation?token=abc" in mail["text"]
        assert "Paul Durand" in mail["text"] and "Ville de Test" in mail["from"]

        token = issue_access_token(keyring, subject=ACCOUNT, kind="citizen", session_id="s-1")
        status, history = wait_for(lambda: (lambda r: r if r[1]["items"] and r[1]["items"][0]["status"] == "sent"
                                            else None)(get(api + "/me/notifications", token)),
                                   timeout=15, message="the history")
        assert status == 200 and len(history["items"]) == 1 and history["next_cursor"] is None
        item = history["items"][0]
        assert item["template"] == "account_activation" and item["channel"] == "email"
        other = issue_access_token(keyring, subject="someone-else", kind="citizen", session_id="s-2")
        assert get(api + "/me/notifications?limit=5", other)[1] == {"items": [], "next_cursor": None}
    finally:
        catcher.stop()
