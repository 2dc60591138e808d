"""Accounts end to end: the real gateway (gunicorn), the real accounts process, the real broker.

The main journey also runs the real notifications process: the activation and
reset links are read from the mails in the development mail catcher (a real
SMTP server, read through its JSON API as a person would read its page). The
other journeys read the links from the commands captured on
``notifications.commands``.
"""
from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from guichet_common.testing import migrated_service, wait_for
from guichet_contracts.validation import validate_message
from guichet_devtools.mailcatcher import MailCatcher

from .test_suite import start_gateway

pytestmark = pytest.mark.e2e

PASSWORD = "Soleil2026!x"


def call(method, url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def next_command(spy, template):
    for _, envelope in spy.collect(1, timeout=15):
        validate_message(envelope)
        if envelope["data"].get("template") == template:
            return envelope["data"]
    raise AssertionError(f"no {template} command")


def token_of(url):
    return parse_qs(urlsplit(url).query)["token"][0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mail_to(catcher_url, recipient, subject_part, seen):
    """The first mail to ``recipient`` whose subject contains ``subject_part``, not already in ``seen``."""
    def find():
        _, mails = call("GET", catcher_url + "/api/messages")
        for mail in mails:
            if recipient in mail["recipients"] and subject_part in mail["subject"] and mail["id"] not in seen:
                seen.add(mail["id"])
                return mail
        return None
    return wait_for(find, timeout=30, message=f"a mail « {subject_part} » to {recipient}")


def link_in(mail, public_url):
    [url] = set(re.findall(re.escape(public_url) + r"/\S*token=[\w-]+", mail["text"]))
    return url


def test_register_activate_login_household_forgot_reset_login(processes, databases, tmp_path):
    smtp_port, http_port = free_port(), free_port()
    catcher = MailCatcher(tmp_path / "mail", smtp_port=smtp_port, http_port=http_port).start()
    try:
        _journey(processes, databases, tmp_path, smtp_port, f"http://127.0.0.1:{http_port}")
    finally:
        catcher.stop()


def _journey(processes, databases, tmp_path, smtp_port, catcher_url):
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.test",
                                    "accounts": {"captcha": False}}), encoding="utf-8")
    migrated_service(processes, databases, "notifications", GUICHET_TOWN_SETTINGS=str(town),
                     GUICHET_NOTIFICATIONS_SMTP_HOST="127.0.0.1", GUICHET_NOTIFICATIONS_SMTP_PORT=smtp_port,
                     GUICHET_NOTIFICATIONS_POLL_INTERVAL="0.2")
    migrated_service(processes, databases, "accounts", GUICHET_TOWN_SETTINGS=str(town))
    api = start_gateway(processes) + "/api/v1"
    seen: set = set()

    registration = {"civility": "monsieur", "birth_name": "Dupin", "first_name": "Pascal",
                    "birth_date": "1988-03-04", "birth_country": "France", "birth_commune": "LYON 02",
                    "birth_department": "69", "email": "pascal.dupin@example.org",
                    "phones": {"mobile": "06 12 34 56 78"},
                    "address": {"street_number": "17", "street_name": "Grand' Place", "postal_code": "59100",
                                "locality": "Roubaix"}, "cgu_accepted": True}
    status, problem = call("POST", api + "/accounts/registrations", {**registration, "email": "pas-un-email"})
    assert status == 422 and problem["errors"]["email"] == ["Adresse courriel invalide (ex. : jacques.dupond@test.fr)."]
    status, recap = call("POST", api + "/accounts/registrations?validate_only=true", registration)
    assert status == 200 and recap["recap"]["phones"]["mobile"] == "+33612345678"
    status, created = call("POST", api + "/accounts/registrations", registration)
    assert status == 201, created

    activation = mail_to(catcher_url, "pascal.dupin@example.org", "Activez votre compte citoyen – Ville de Test", seen)
    assert "Un identifiant vous est proposé par défaut : pascal.dupin." in activation["text"]
    assert "Ville de Test" in activation["from"]
    token = token_of(link_in(activation, "https://ville.test"))
    status, preview = call("POST", api + "/accounts/activation/preview", {"token": token})
    assert status == 200 and preview["suggested_login"] == "pascal.dupin"
    status, weak = call("POST", api + "/accounts/activation",
                        {"token": token, "password": "motdepasse", "password_confirmation": "motdepasse"})
    assert status == 422 and "Le mot de passe doit contenir un chiffre." in weak["errors"]["password"]
    status, session = call("POST", api + "/accounts/activation",
                           {"token": token, "password": PASSWORD, "password_confirmation": PASSWORD})
    assert status == 200 and session["login"] == "pascal.dupin", session

    status, login = call("POST", api + "/auth/login", {"identifier": "pascal.dupin", "password": PASSWORD})
    assert status == 200 and login["last_login"].startswith("Dernière connexion le ")
    access = login["access_token"]
    status, me = call("GET", api + "/me", token=access)
    assert status == 200 and me["account_id"] == created["account_id"] and me["login"] == "pascal.dupin"

    status, child = call("POST", api + "/me/household/members", {"role": "enfant", "first_name": "Léa",
                                                                 "birth_date": "2017-09-01"}, token=access)
    assert status == 201 and child["birth_name"] == "Dupin"
    status, household = call("GET", api + "/me/household/members", token=access)
    assert [m["role"] for m in household["members"]] == ["titulaire", "enfant"]
    status, _ = call("PATCH", api + f"/me/household/members/{child['member_id']}", {"first_name": "Zoé"},
                     token=access)
    assert status == 200

    status, answer = call("POST", api + "/auth/forgotten-password", {"identifier": "pascal.dupin@example.org"})
    assert status == 200 and answer["message"].startswith("Un courriel vous sera envoyé")
    reset = mail_to(catcher_url, "pascal.dupin@example.org", "Réinitialisation de votre mot de passe", seen)
    new_password = "Lune2027!abc"
    status, _ = call("POST", api + "/auth/password-reset", {"token": token_of(link_in(reset, "https://ville.test")),
                                                            "password": new_password,
                                                            "password_confirmation": new_password})
    assert status == 200
    status, refused = call("POST", api + "/auth/refresh", {"refresh_token": login["refresh_token"]})
    assert status == 401  # the reset ended every session
    status, old = call("POST", api + "/auth/login", {"identifier": "pascal.dupin", "password": PASSWORD})
    assert status == 401 and old["detail"] == "Identifiant ou mot de passe incorrect."
    status, again = call("POST", api + "/auth/login", {"identifier": "pascal.dupin", "password": new_password})
    assert status == 200
    status, me = call("GET", api + "/me", token=again["access_token"])
    assert status == 200 and me["last_login"].startswith("Dernière connexion le ")


def _start(processes, databases, tmp_path, **accounts):
    town = tmp_path / "town.yaml"
    town.write_text(yaml.safe_dump({"name": "Ville de Test", "insee_code": "59512", "public_url": "https://ville.test",
                                    "accounts": {"captcha": False, **accounts}}), encoding="utf-8")
    service = migrated_service(processes, databases, "accounts", GUICHET_TOWN_SETTINGS=str(town))
    return service.env["GUICHET_ACCOUNTS_DATABASE_URL"], start_gateway(processes) + "/api/v1"


def _agent(database_url, roles):
    """An agent with a second factor, created as an operator would (``guichet-accounts create-agent``)."""
    import datetime as dt

    from guichet_accounts import bootstrap
    from guichet_accounts.domain import totp
    from guichet_accounts.models import metadata
    from guichet_common.db import Database

    database = Database("accounts", database_url, metadata)
    try:
        created = bootstrap.for_operator(database).agents.create_agent("agent.test", "Agent", roles)
    finally:
        database.dispose()
    code = totp.totp(created["totp_secret"], dt.datetime.now(dt.timezone.utc))
    return created, code


def test_provisioned_account_must_give_an_email_before_recovery(processes, databases, amqp_spy, tmp_path):
    amqp_spy("notifications.commands")
    database_url, api = _start(processes, databases, tmp_path)
    agent, code = _agent(database_url, ["administrator"])
    status, refused = call("POST", api + "/auth/agent/login", {"login": "agent.test", "password": agent["password"]})
    assert status == 422 and "totp_code" in refused["errors"]
    status, session = call("POST", api + "/auth/agent/login", {"login": "agent.test", "password": agent["password"],
                                                               "totp_code": code})
    assert status == 200 and session["roles"] == ["administrator"], session
    status, family = call("POST", api + "/agent/accounts", {"birth_name": "Hoarau", "first_name": "Paul",
                                                            "family_file_ref": "F-0001"},
                          token=session["access_token"])
    assert status == 201 and family["login"] == "paul.hoarau", family

    # Answered as for an unknown login (nothing tells an account exists); the login tells the family instead.
    status, recovery = call("POST", api + "/auth/forgotten-password", {"identifier": "paul.hoarau"})
    _, unknown = call("POST", api + "/auth/forgotten-password", {"identifier": "paul.hoaru"})
    assert status == 200 and recovery == unknown
    status, login = call("POST", api + "/auth/login", {"identifier": "paul.hoarau", "password": family["password"]})
    assert status == 200 and login["email_required"] is True and login["password_change_required"] is True
    assert "Votre email est invalide ou manquant." in login["notice"]
    assert "« Mot de passe oublié » ne peut pas vous envoyer de lien" in login["notice"]
    # The printed initial password is provisional: the family chooses its own before anything else.
    status, refused = call("PATCH", api + "/me", {"email": "paul.hoarau@example.org"}, token=login["access_token"])
    assert status == 403 and refused["type"] == "urn:guichet:problem:password-change-required", refused
    status, _ = call("PUT", api + "/me/password", {"current_password": family["password"], "new_password": PASSWORD,
                                                   "new_password_confirmation": PASSWORD}, token=login["access_token"])
    assert status == 200
    status, me = call("PATCH", api + "/me", {"email": "paul.hoarau@example.org"}, token=login["access_token"])
    assert status == 200 and me["can_pay_online"] is True, me
    status, _ = call("POST", api + "/auth/forgotten-password", {"identifier": "paul.hoarau"})
    assert status == 200


def test_validation_pending_then_validated(processes, databases, amqp_spy, tmp_path):
    commands = amqp_spy("notifications.commands", "fr.guichet.notifications.notification.requested.v1")
    database_url, api = _start(processes, databases, tmp_path, validation_by_town=True, phones_required="none",
                               address_required=False, birth_place_required=False)
    status, created = call("POST", api + "/accounts/registrations", {
        "civility": "madame", "birth_name": "Martin", "first_name": "Jeanne", "birth_date": "1985-06-01",
        "email": "jeanne.martin@example.org", "cgu_accepted": True})
    assert status == 201, created
    token = token_of(next_command(commands, "account_activation")["personalisation"]["activation_url"])
    status, session = call("POST", api + "/accounts/activation",
                           {"token": token, "password": PASSWORD, "password_confirmation": PASSWORD})
    assert status == 200 and session["status"] == "awaiting_validation"
    status, refused = call("PATCH", api + "/me", {"usage_name": "Durand"}, token=session["access_token"])
    assert status == 403 and refused["type"] == "urn:guichet:problem:account-not-validated"
    assert "tant que celui-ci ne sera pas validé" in refused["detail"]

    agent, code = _agent(database_url, ["account_validator"])
    status, agent_session = call("POST", api + "/auth/agent/login", {
        "login": "agent.test", "password": agent["password"], "totp_code": code})
    assert status == 200
    status, pending = call("GET", api + "/agent/accounts?status=awaiting_validation",
                           token=agent_session["access_token"])
    assert [item["account_id"] for item in pending["items"]] == [created["account_id"]]
    status, validated = call("POST", api + f"/agent/accounts/{created['account_id']}/validation",
                             token=agent_session["access_token"])
    assert status == 200 and validated["status"] == "active"
    assert next_command(commands, "account_validated")["recipient"]["account_id"] == created["account_id"]
    status, me = call("PATCH", api + "/me", {"usage_name": "Durand"}, token=session["access_token"])
    assert status == 200 and me["usage_name"] == "Durand"
