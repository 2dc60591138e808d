"""Town-provisioned accounts: one family, a CSV import, the family file reference."""

import pytest

from guichet_accounts.application.provisioning import MAX_IMPORT_LINES
from guichet_accounts.domain import messages as msg
from guichet_common.auth import Caller
from guichet_common.errors import Forbidden, InvalidInput, NotFound

from ... import factories


def test_provisioned_account_must_give_an_email(app):
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    results = app.provisioning.import_families(admin, "birth_name;first_name;family_file_ref\nHoarau;Paul;F-0001\n;Sans;x\n")
    assert results[1]["errors"] == {"birth_name": [msg.FIELD_REQUIRED]}
    created = results[0]
    assert created["login"] == "paul.hoarau"
    app.recovery.forgotten_password("paul.hoarau")  # answered as for an unknown login: nowhere to send a link
    assert factories.messages(app, "notification.requested.v1") == []
    session = app.sessions.login("paul.hoarau", created["password"])
    assert session["email_required"] is True and msg.PROVISIONED_EMAIL_MISSING in session["notice"]
    caller = Caller(kind="citizen", subject=created["account_id"], session=session["session_id"])
    assert app.profile.me(caller)["can_pay_online"] is False
    app.profile.change_password(caller, created["password"], "Lune2027!abc", "Lune2027!abc")  # asked first
    profile = app.profile.update_me(caller, {"email": "paul.hoarau@example.org"})
    assert profile["can_pay_online"] is True and profile["email_required"] is False
    assert factories.messages(app, "contact.updated.v1")[-1]["data"]["email"] == "paul.hoarau@example.org"
    app.recovery.forgotten_password("paul.hoarau")
    assert factories.messages(app, "notification.requested.v1")[-1]["data"]["template"] == "password_reset"


def test_import_and_family_file_are_for_the_right_agents_and_audited(app):
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    enfance = Caller(kind="agent", subject="enf-1", roles=("enfance",))
    with pytest.raises(Forbidden):
        app.provisioning.import_families(enfance, "")  # refused even with nothing to import
    with pytest.raises(InvalidInput) as too_long:
        app.provisioning.import_families(admin, "birth_name;first_name\n" + "Hoarau;Paul\n" * (MAX_IMPORT_LINES + 1))
    assert "guichet-accounts" in too_long.value.errors["file"][0]
    [created] = app.provisioning.import_families(admin, "birth_name;first_name\nHoarau;Paul\n")
    with pytest.raises(Forbidden):
        app.provisioning.set_family_file_ref(admin.__class__(kind="agent", subject="v-1", roles=("voirie",)),
                                created["account_id"], "F-1")
    assert app.provisioning.set_family_file_ref(enfance, created["account_id"], " F-2026-7 ")["family_file_ref"] == "F-2026-7"
    with pytest.raises(NotFound):
        app.provisioning.set_family_file_ref(enfance, "no-such-account", "F-1")
    with pytest.raises(InvalidInput):
        app.provisioning.set_family_file_ref(enfance, created["account_id"], "F" * 65)
    actions = [(row["agent_id"], row["action"]) for row in app.agents.agent_audit(admin)["items"]]
    assert ("enf-1", "set_family_file_ref") in actions and ("admin-1", "provision_account") in actions
