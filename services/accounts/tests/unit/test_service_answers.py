"""service.py dumps every RPC answer through the accounts API contract's schema: only the listed fields leave
the service, whatever a use case put in its dict; arguments of the paged lists are checked there."""
import datetime as dt

import pytest
from nameko.testing.services import worker_factory

from guichet_accounts.service import AccountsService
from guichet_common.errors import InvalidInput


@pytest.fixture
def service():
    return worker_factory(AccountsService)


def test_an_answer_drops_the_fields_the_contract_does_not_list(service):
    service.app.household.household.return_value = {
        "members": [{"member_id": "m-1", "role": "titulaire", "first_name": "Jeanne",
                     "birth_date": dt.date(1985, 6, 1), "account_id": "a-1", "created_at": "x"}],
        "family_file_ref": None, "password_hash": "$argon2id$..."}
    assert service.household() == {
        "members": [{"member_id": "m-1", "role": "titulaire", "first_name": "Jeanne", "birth_date": "1985-06-01"}],
        "family_file_ref": None}
    service.app.agents.agent_login.return_value = {
        "access_token": "a", "token_type": "Bearer", "expires_in": 900, "refresh_token": "r", "session_id": "s",
        "roles": ["administrator"], "display_name": "Agent", "totp_secret": "JBSWY3DP"}
    assert "totp_secret" not in service.agent_login("agent", "secret", "123456")


def test_the_paged_lists_load_their_cursor_and_limit(service):
    service.app.agents.agent_audit.return_value = {
        "items": [{"id": 7, "agent_id": "ag-1", "action": "login", "target": None, "details": None,
                   "at": dt.datetime(2026, 3, 4, 10, tzinfo=dt.timezone.utc)}], "next_cursor": "Wzdd"}
    assert service.agent_audit() == {
        "items": [{"id": 7, "agent_id": "ag-1", "action": "login", "target": None, "details": None,
                   "at": "2026-03-04T10:00:00+00:00"}], "next_cursor": "Wzdd"}
    assert service.app.agents.agent_audit.call_args.kwargs == {"cursor": None, "limit": 50}
    service.app.agents.agent_search.return_value = {"items": [], "next_cursor": None}
    assert service.agent_search(query=" martin ", cursor="Wzdd", limit=5) == {"items": [], "next_cursor": None}
    assert service.app.agents.agent_search.call_args.args[1:] == ("martin", None)
    assert service.app.agents.agent_search.call_args.kwargs == {"cursor": "Wzdd", "limit": 5}
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "beaucoup"}, {"status": "deleted"}):
        with pytest.raises(InvalidInput) as refused:
            service.agent_search(**bad)
        assert set(refused.value.errors) == set(bad)
