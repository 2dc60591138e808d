"""Unsubscribe tokens (signature, expiry, tampering, rotation) and the preference rule, pure."""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from guichet_notifications.adapters.template_files import load_templates
from guichet_notifications.domain import unsubscribe as u

SECRET = b"s" * 32
OTHER = b"o" * 32
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ACCOUNT = "account:3f6b1c2e-8d4a-4b7e-9c15-2a7d0e9f4b61"


def tokens(*secrets, **kw):
    return u.UnsubscribeTokens(list(secrets) or [SECRET], **kw)


def test_a_token_names_its_recipient_and_holds_no_address():
    token = tokens().issue(ACCOUNT, NOW)
    assert tokens().verify(token, NOW + timedelta(days=30)) == ACCOUNT
    email = u.recipient_key(email=" Jeanne.Martin@Example.org ")
    assert email == "email:" + u.address_digest("jeanne.martin@example.org")
    other = tokens().issue(email, NOW)
    assert "jeanne" not in other.lower() and "jeanne" not in base64.urlsafe_b64decode(
        other.split(".")[1] + "==").decode().lower()
    assert tokens().verify(other, NOW) == email
    assert len(token) < 200 and all(c.isalnum() or c in "._-" for c in token)  # fits a URL as is


def test_expiry():
    t = tokens(max_age=timedelta(days=365))
    token = t.issue(ACCOUNT, NOW)
    assert t.verify(token, NOW + timedelta(days=365)) == ACCOUNT
    with pytest.raises(u.ExpiredUnsubscribeToken):
        t.verify(token, NOW + timedelta(days=365, seconds=1))
    assert issubclass(u.ExpiredUnsubscribeToken, u.InvalidUnsubscribeToken)
    with pytest.raises(u.InvalidUnsubscribeToken) as future:  # issued in the future beyond the clock skew
        t.verify(t.issue(ACCOUNT, NOW + timedelta(hours=1)), NOW)
    assert not isinstance(future.value, u.ExpiredUnsubscribeToken)
    assert t.verify(t.issue(ACCOUNT, NOW + timedelta(minutes=2)), NOW) == ACCOUNT  # small clock skew


def _payload(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def _with_payload(token, payload):
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    version, _, signature = token.split(".")
    return f"{version}.{encoded}.{signature}"


def test_tampering_is_refused():
    t = tokens()
    token = t.issue(ACCOUNT, NOW)
    someone_else = _with_payload(token, {**_payload(token), "r": "account:someone-else"})
    younger = _with_payload(token, {**_payload(token), "t": _payload(token)["t"] + 86400})
    version, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (someone_else, younger, f"{version}.{payload}.{flipped}", f"v2.{payload}.{signature}",
                f"{version}.{payload}", f"{version}.{payload}.{signature}.x", f"{version}.{payload}.",
                f"{version}.{payload}.{signature}!", "", "v1..", None, 42, "x" * 1000,
                f"{version}.{payload}.{signature[:-4]}"):
        with pytest.raises(u.InvalidUnsubscribeToken):
            t.verify(bad, NOW)


def test_a_token_signed_with_another_secret_is_refused_and_rotation_keeps_old_links():
    old = tokens(OTHER).issue(ACCOUNT, NOW)
    with pytest.raises(u.InvalidUnsubscribeToken):
        tokens(SECRET).verify(old, NOW)
    rotated = tokens(SECRET, OTHER)
    assert rotated.verify(old, NOW) == ACCOUNT  # the old secret still verifies
    assert tokens(SECRET).verify(rotated.issue(ACCOUNT, NOW), NOW) == ACCOUNT  # the first one signs


def test_a_validly_signed_but_odd_payload_is_refused():
    import hashlib
    import hmac

    def forge(payload_obj):
        payload = base64.urlsafe_b64encode(json.dumps(payload_obj).encode()).rstrip(b"=").decode()
        mac = hmac.new(SECRET, b"guichet.notifications.unsubscribe.v1." + payload.encode(), hashlib.sha256)
        return f"v1.{payload}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"

    assert tokens().verify(forge({"r": ACCOUNT, "t": int(NOW.timestamp())}), NOW) == ACCOUNT  # the format
    for payload in ({"r": "phone:+33612345678", "t": 1}, {"r": ACCOUNT, "t": "hier"}, {"r": ACCOUNT},
                    {"r": ACCOUNT, "t": True}, ["r"], {"r": 5, "t": 1}):
        with pytest.raises(u.InvalidUnsubscribeToken):
            tokens().verify(forge(payload), NOW)


def test_secrets_and_keys_are_checked():
    with pytest.raises(ValueError):
        u.UnsubscribeTokens([])
    with pytest.raises(ValueError):
        u.UnsubscribeTokens([b"short"])
    with pytest.raises(ValueError):
        tokens().issue("phone:+33612345678", NOW)
    assert u.recipient_key() is None and u.recipient_key(email="  ") is None
    assert u.recipient_key("acc-1", "a@example.org") == "account:acc-1"  # the account wins


def test_links_and_one_click_urls():
    assert u.link("https://ville.example/api/v1/notifications/unsubscribe", "v1.a.b") == \
        "https://ville.example/api/v1/notifications/unsubscribe?token=v1.a.b"
    assert u.link("https://ville.example/desinscription?lang=fr&token=old", "v1.a.b") == \
        "https://ville.example/desinscription?lang=fr&token=v1.a.b"
    assert u.usable_one_click_url("https://ville.example/x")
    assert u.usable_one_click_url("http://127.0.0.1:8000/api/v1/notifications/unsubscribe")  # development
    assert u.usable_one_click_url("http://localhost:8000/x")
    for bad in (None, "", "http://ville.example/x", "ftp://ville.example/x", "https://", "https://a b/c",
                "mailto:mairie@ville.example"):
        assert not u.usable_one_click_url(bad)


def test_only_non_essential_messages_are_blocked():
    assert u.blocked(essential=False, receives_non_essential=False)
    assert not u.blocked(essential=False, receives_non_essential=True)
    assert not u.blocked(essential=True, receives_non_essential=False)
    assert not u.blocked(essential=True, receives_non_essential=True)


def test_which_templates_an_opt_out_blocks():
    """The templates' essential flags decide: security mails, acknowledgements, decisions, receipts,
    confirmations and the town's messages are essential; reminders and information on the account are not."""
    catalog = load_templates()
    non_essential = {name for name in catalog if not catalog[name].essential}
    assert non_essential == {"reminder", "invoice_available", "demande_status_changed", "family_account_statement"}
    for name in catalog:
        if catalog[name].security:
            assert catalog[name].essential, name
    for name in ("demande_acknowledgement", "demande_decision", "payment_receipt", "reservation_confirmation",
                 "password_reset", "account_activation", "login_reminder"):
        assert catalog[name].essential, name
