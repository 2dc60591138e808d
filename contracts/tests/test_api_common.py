"""The shared API schemas: the page query read from a query string (every value is text) or RPC keywords."""
import pytest
from marshmallow import ValidationError

from guichet_contracts.api.common import AuditPageQuery, PageQuery


def test_the_limit_is_read_from_a_query_string_or_a_number():
    assert PageQuery().load({"limit": "5", "cursor": " c-1 "}) == {"limit": 5, "cursor": "c-1"}
    assert PageQuery().load({"limit": 5}) == {"limit": 5, "cursor": None}
    assert PageQuery().load({}) == {"limit": 20, "cursor": None}
    assert AuditPageQuery().load({}) == {"limit": 50, "cursor": None}


@pytest.mark.parametrize("limit, message", [
    ("0", "Doit être compris entre 1 et 100 inclus."), ("-3", "Doit être compris entre 1 et 100 inclus."),
    ("101", "Doit être compris entre 1 et 100 inclus."), ("5.0", "Ce champ doit être un nombre entier."),
    ("cinq", "Ce champ doit être un nombre entier."), (5.5, "Ce champ doit être un nombre entier."),
])
def test_a_wrong_limit_is_refused_in_french(limit, message):
    with pytest.raises(ValidationError) as refused:
        PageQuery().load({"limit": limit})
    assert refused.value.messages == {"limit": [message]}


def test_the_cursor_is_absent_or_text_never_null():
    with pytest.raises(ValidationError):
        PageQuery().load({"cursor": None})
    assert PageQuery().load({"cursor": "   "}) == {"limit": 20, "cursor": None}
