"""« Mon foyer »: members, guardians, and privacy between households."""

import pytest

from guichet_common.auth import Caller
from guichet_common.errors import Conflict, Forbidden, InvalidInput, NotFound

from ... import factories


def test_household_members_prefill_family_name_and_stay_private(app):
    account_id, _, alice = factories.active_citizen(app)
    other_id, _, bob = factories.active_citizen(app, login="bob.martin", first_name="Bob", birth_name="Martin",
                                             email="bob@example.org")
    spouse = app.household.add_member(alice, {"role": "conjoint", "first_name": "Marie", "birth_name": "Curie"})
    child = app.household.add_member(alice, {"role": "enfant", "first_name": "Léa", "birth_date": "2016-05-01",
                                   "guardians": [{"relation": "mere", "member_id": spouse["member_id"]}]})
    assert child["birth_name"] == "Dupin"
    roles = [m["role"] for m in app.household.household(alice)["members"]]
    assert roles == ["titulaire", "conjoint", "enfant"]
    assert [m["role"] for m in app.household.household(bob)["members"]] == ["titulaire"]
    with pytest.raises(NotFound):
        app.household.update_member(bob, child["member_id"], {"first_name": "Zoé"})
    with pytest.raises(NotFound):
        app.household.remove_member(bob, child["member_id"])
    with pytest.raises(InvalidInput):
        app.household.add_member(bob, {"role": "enfant", "first_name": "Tom",
                             "guardians": [{"relation": "pere", "member_id": spouse["member_id"]}]})
    assert app.household.update_member(alice, child["member_id"], {"first_name": "Zoé"})["first_name"] == "Zoé"
    titulaire = app.household.household(alice)["members"][0]
    with pytest.raises(Conflict):
        app.household.remove_member(alice, titulaire["member_id"])
    app.household.remove_member(alice, spouse["member_id"])
    kinds = [".".join(m["type"].split(".")[3:5]) for m in factories.messages(app, "v1") if "household_member" in m["type"]]
    assert kinds.count("household_member.removed") == 1
    with pytest.raises(Forbidden):
        app.household.household(Caller(kind="agent", subject=account_id))


def test_a_citizen_cannot_set_a_child_s_schooling(app):
    # Issue 11 item 5: schooling is the enfance agents' audited route; the citizen's member form has no `school`.
    _, _, alice = factories.active_citizen(app)
    school = {"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1"}
    with pytest.raises(InvalidInput) as on_add:
        app.household.add_member(alice, {"role": "enfant", "first_name": "Léa", "school": school})
    assert list(on_add.value.errors) == ["school"]
    child = app.household.add_member(alice, {"role": "enfant", "first_name": "Léa"})
    with pytest.raises(InvalidInput) as on_change:
        app.household.update_member(alice, child["member_id"], {"school": school})
    assert list(on_change.value.errors) == ["school"]
    assert app.household.household(alice)["members"][1]["school"] is None
