import pytest

from guichet_common.town import TownSettingsError, current_town, load_town, town_settings


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


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_the_time_zone_defaults_to_paris_and_may_be_another_iana_zone(tmp_path):
    assert load_town(write(tmp_path / "a.yaml", "name: Ville\ninsee_code: '75056'\n"))["timezone"] == "Europe/Paris"
    town = load_town(write(tmp_path / "b.yaml", "name: Ville\ninsee_code: '97411'\ntimezone: Indian/Reunion\n"))
    assert town["timezone"] == "Indian/Reunion"


@pytest.mark.parametrize("zone", ["Europe/Parsi", "europe/paris", "Europe", "", "../../etc/passwd"])
def test_an_unknown_time_zone_is_refused_at_start(tmp_path, zone):
    path = write(tmp_path / "town.yaml", f"name: Ville\ninsee_code: '75056'\ntimezone: '{zone}'\n")
    with pytest.raises(TownSettingsError, match="timezone.*unknown time zone"):
        load_town(path)


def test_an_edited_file_is_read_again_without_clearing_anything(tmp_path):
    path = write(tmp_path / "town.yaml", "name: Avant\ninsee_code: '75056'\n")
    first = current_town(path)
    assert current_town(str(path)) is first  # unchanged: read once
    write(path, "name: Après la modification\ninsee_code: '75056'\n")
    assert current_town(path)["name"] == "Après la modification"


def test_the_process_settings_come_from_the_environment(tmp_path):
    path = write(tmp_path / "town.yaml", "name: Envville\ninsee_code: '75056'\n")
    assert town_settings({"GUICHET_TOWN_SETTINGS": str(path)})["name"] == "Envville"
    assert town_settings({}) == load_town()
    with pytest.raises(TownSettingsError, match="not found"):
        town_settings({"GUICHET_TOWN_SETTINGS": str(tmp_path / "missing.yaml")})
