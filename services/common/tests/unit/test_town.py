import pytest

from guichet_common.town import TownSettingsError, load_town


def test_the_demo_town_is_valid():
    town = load_town()
    assert town["name"] and town["timezone"] == "Europe/Paris"


def test_a_wrong_town_file_is_refused_with_the_field(tmp_path):
    path = tmp_path / "town.yaml"
    path.write_text("name: Ville\ninsee_code: '123'\nunexpected: 1\n")
    with pytest.raises(TownSettingsError) as caught:
        load_town(path)
    assert "insee_code" in str(caught.value) and "unexpected" in str(caught.value)


def test_a_missing_town_file_is_a_clear_error(tmp_path):
    with pytest.raises(TownSettingsError, match="not found"):
        load_town(tmp_path / "nope.yaml")
