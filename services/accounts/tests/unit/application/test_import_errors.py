"""Issue 11 (low): a CSV import whose delimiter cannot be detected is the agent's mistake, a French 422 (not a 500)."""
import pytest

from guichet_accounts.domain import messages as msg
from guichet_common.errors import InvalidInput

from ... import factories


@pytest.mark.parametrize("text", [
    "birth_name first_name\nHoarau Paul\n",  # neither ; nor ,
    "Hoarau\n",  # one column
    "a|b|c\n1|2|3\n",
])
def test_an_undetectable_delimiter_is_a_french_422(app, text):
    with pytest.raises(InvalidInput) as refused:
        app.provisioning.import_families(factories.ADMIN, text)
    assert refused.value.status == 422 and refused.value.errors == {"file": [msg.CSV_DELIMITER_UNKNOWN]}
    assert "séparateur" in msg.CSV_DELIMITER_UNKNOWN


def test_comma_and_semicolon_files_still_import(app):
    for text in ("birth_name;first_name\nHoarau;Paul\n", "birth_name,first_name\nPayet,Marie\n"):
        [line] = app.provisioning.import_families(factories.ADMIN, text)
        assert "login" in line, line


def test_an_unreadable_csv_is_a_french_422(app):
    text = "birth_name;first_name\nHoarau;" + "x" * 200_000 + "\n"  # a field past the csv module's limit
    with pytest.raises(InvalidInput) as refused:
        app.provisioning.import_families(factories.ADMIN, text)
    assert refused.value.errors == {"file": [msg.CSV_UNREADABLE]}
