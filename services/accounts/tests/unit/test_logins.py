import pytest

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.logins import (
    base_login,
    check_login,
    looks_like_email,
    normalise_login,
    propose_login,
    slug_part,
)


def nobody(_login):
    return False


@pytest.mark.parametrize("first, last, expected", [
    ("Pascal", "Dupin", "pascal.dupin"),  # seed 004's example
    ("Jean-Pierre", "D'Artagnan", "jean-pierre.dartagnan"),
    ("Éloïse", "Lefèvre", "eloise.lefevre"),
    ("Marie Claire", "De La Fontaine", "marie-claire.de-la-fontaine"),
    ("Aïssatou", "N’Diaye", "aissatou.ndiaye"),
    ("Cœur", "Œuvray", "coeur.oeuvray"),
    ("Laetitia", "Straße", "laetitia.strasse"),
    ("  ANNE  ", " MOULIN ", "anne.moulin"),
    ("Jean--Luc", "Dupont - Martin", "jean-luc.dupont-martin"),
    ("Louis XIV", "Bourbon", "louis-xiv.bourbon"),
    ("Zoé", "O'Neil-Smith", "zoe.oneil-smith"),
])
def test_default_login_is_prenom_nom(first, last, expected):
    assert propose_login(first, last, nobody) == expected
    assert check_login(expected) == []


def test_only_allowed_characters_remain():
    login = propose_login("J@an!", "Du#pont (2)", nobody)
    assert login == "jan.dupont-2"
    assert set(login) <= set("abcdefghijklmnopqrstuvwxyz0123456789.-")


def test_a_name_in_another_script_falls_back():
    assert base_login("Алексей", "Dupont") == "dupont"
    assert base_login("Алексей", "李") == "usager"
    assert base_login("", "Li") == "li.usager"
    assert check_login(base_login("", "Li")) == []


def test_made_unique_by_appending_2_3():
    taken = {"pascal.dupin", "pascal.dupin2"}
    assert propose_login("Pascal", "Dupin", taken.__contains__) == "pascal.dupin3"
    assert propose_login("Pascal", "Dupin", {"pascal.dupin"}.__contains__) == "pascal.dupin2"


def test_long_names_are_cut_to_64_with_room_for_the_suffix():
    first, last = "A" * 40, "B" * 40
    base = base_login(first, last)
    assert len(base) == 64
    login = propose_login(first, last, {base}.__contains__)
    assert len(login) == 64 and login.endswith("2")


def test_slug_part():
    assert slug_part(None) == ""
    assert slug_part("'-'") == ""


@pytest.mark.parametrize("login", ["pascal.dupin", "p_dupin", "abc", "jean-pierre.dartagnan2", "a1b"])
def test_valid_logins(login):
    assert check_login(login) == []


def test_logins_are_case_insensitive():
    assert normalise_login("  Pascal.DUPIN ") == "pascal.dupin"
    assert check_login("Pascal.Dupin") == []


@pytest.mark.parametrize("login, expected", [
    ("ab", [msg.LOGIN_TOO_SHORT.format(min=3)]),
    ("", [msg.LOGIN_TOO_SHORT.format(min=3)]),
    ("a" * 65, [msg.LOGIN_TOO_LONG.format(max=64)]),
    ("pascal dupin", [msg.LOGIN_FORBIDDEN_CHARACTERS]),
    ("pascal@dupin", [msg.LOGIN_FORBIDDEN_CHARACTERS]),
    ("éloïse", [msg.LOGIN_FORBIDDEN_CHARACTERS]),
    (".pascal", [msg.LOGIN_BAD_EDGES]),
    ("pascal-", [msg.LOGIN_BAD_EDGES]),
    ("pascal..dupin", [msg.LOGIN_CONSECUTIVE_SEPARATORS]),
    ("-é-", [msg.LOGIN_FORBIDDEN_CHARACTERS, msg.LOGIN_BAD_EDGES]),
    ("_a", [msg.LOGIN_TOO_SHORT.format(min=3), msg.LOGIN_BAD_EDGES]),
])
def test_invalid_logins_in_french(login, expected):
    assert check_login(login) == expected


def test_email_or_login():
    assert looks_like_email("dupin@yopmail.com")
    assert not looks_like_email("pascal.dupin")
