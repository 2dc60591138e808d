"""Schooled children: activities' schooling events (once each) and enfance agents."""

import pytest

from guichet_accounts.application.schooling import SCHOOL_KEYS
from guichet_common.auth import Caller
from guichet_common.errors import Forbidden, InvalidInput, NotFound

from ... import factories


def test_schooling_events_keep_the_schooled_children_up_to_date_once(app):
    account_id, _, alice = factories.active_citizen(app)
    child = app.household.add_member(alice, {"role": "enfant", "first_name": "Eric", "birth_date": "2019-05-01"})
    spouse = app.household.add_member(alice, {"role": "conjoint", "first_name": "Jeanne"})
    schooling = {"account_id": account_id, "member_id": child["member_id"], "school_year": "2026-2027",
                 "school": "École élémentaire Jean-Marie Brison", "level": "CP", "class_name": "CP A",
                 "certificate_url": f"/api/v1/me/schooling/{child['member_id']}/certificate"}
    changed_before = len(factories.messages(app, "household_member.changed.v1"))
    assert app.schooling.schooling_updated("evt-1", schooling) is True
    assert app.schooling.schooling_updated("evt-1", schooling) is False  # the same event again: no second effect
    [shown] = [m for m in app.household.household(alice)["members"] if m["member_id"] == child["member_id"]]
    assert shown["school"] == {key: schooling[key] for key in SCHOOL_KEYS}
    assert len(factories.messages(app, "household_member.changed.v1")) == changed_before + 1
    assert app.schooling.schooling_updated("evt-2", {**schooling, "member_id": spouse["member_id"]}) is False  # not a child
    assert app.schooling.schooling_updated("evt-3", {**schooling, "account_id": "someone-else"}) is False
    assert app.schooling.schooling_ended("evt-4", {"account_id": account_id, "member_id": child["member_id"]}) is True
    [shown] = [m for m in app.household.household(alice)["members"] if m["member_id"] == child["member_id"]]
    assert shown["school"] is None


def test_enfance_agents_record_schooling_audited(app):
    account_id, _, alice = factories.active_citizen(app)
    child = app.household.add_member(alice, {"role": "enfant", "first_name": "Eric"})
    enfance = Caller(kind="agent", subject="enf-1", roles=("enfance",))
    school = {"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1"}
    with pytest.raises(Forbidden):
        app.schooling.agent_set_school(Caller(kind="agent", subject="v-1", roles=("voirie",)), account_id,
                             child["member_id"], school)
    with pytest.raises(Forbidden):
        app.schooling.agent_set_school(alice, account_id, child["member_id"], school)
    recorded = app.schooling.agent_set_school(enfance, account_id, child["member_id"], school)
    assert recorded["school"]["school"] == "École Jules Ferry" and recorded["school"]["class_name"] is None
    with pytest.raises(InvalidInput):
        app.schooling.agent_set_school(enfance, account_id, child["member_id"], {"school_year": "x" * 20})
    with pytest.raises(NotFound):
        app.schooling.agent_set_school(enfance, account_id, "no-such-child", school)
    assert app.schooling.agent_set_school(enfance, account_id, child["member_id"], None)["school"] is None
    admin = Caller(kind="agent", subject="admin-1", roles=("administrator",))
    assert [r["action"] for r in app.agents.agent_audit(admin)["items"]].count("set_school") == 2
