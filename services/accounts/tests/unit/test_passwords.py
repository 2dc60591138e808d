import pytest
from argon2 import PasswordHasher

from guichet_accounts.domain import messages as msg
from guichet_accounts.domain.passwords import (
    check_password,
    check_password_confirmation,
    common_passwords,
    hash_password,
    hash_security_answer,
    is_accented,
    is_common,
    needs_rehash,
    normalise_security_answer,
    verify_against_nothing,
    verify_password,
    verify_security_answer,
)

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
GOOD = "Xk8#mq2Lp"


def test_a_password_meeting_every_rule_passes():
    assert check_password(GOOD) == []
    assert check_password("Tr0ub4dor+(x)") == []
    assert check_password("ab!+@#$%^&*()C1") == []  # every accepted symbol


def test_every_unmet_rule_is_reported_in_the_seed_order():
    assert check_password("abc") == [msg.PASSWORD_TOO_SHORT, msg.PASSWORD_NEEDS_UPPER, msg.PASSWORD_NEEDS_DIGIT]
    assert check_password("") == [msg.PASSWORD_TOO_SHORT, msg.PASSWORD_NEEDS_UPPER, msg.PASSWORD_NEEDS_LOWER,
                                  msg.PASSWORD_NEEDS_DIGIT]


@pytest.mark.parametrize("password, missing", [
    ("xk8#mq2lp", msg.PASSWORD_NEEDS_UPPER),
    ("XK8#MQ2LP", msg.PASSWORD_NEEDS_LOWER),
    ("Xkz#mqrLp", msg.PASSWORD_NEEDS_DIGIT),
    ("Xk8#m2L", msg.PASSWORD_TOO_SHORT),
])
def test_each_rule_alone(password, missing):
    assert check_password(password) == [missing]


def test_exactly_eight_characters_is_enough():
    assert check_password("Xk8#mq2L") == []


def test_accented_characters_are_refused_with_the_seed_sentence():
    assert check_password("Xk8#mq2Lé") == [msg.PASSWORD_NO_ACCENTS]
    assert check_password("Xk8#mq2Lç") == [msg.PASSWORD_NO_ACCENTS]
    assert check_password("Xk8#mq2Lœ") == [msg.PASSWORD_NO_ACCENTS]
    assert msg.PASSWORD_NO_ACCENTS == "Les caractères accentués ne sont pas acceptés."


def test_an_accented_capital_does_not_count_as_the_capital():
    assert check_password("xk8#mq2lÉ") == [msg.PASSWORD_NEEDS_UPPER, msg.PASSWORD_NO_ACCENTS]


@pytest.mark.parametrize("char", [" ", "-", "_", "?", ".", "€", "ж", "😀", "\t", "~", "/"])
def test_only_the_listed_symbols_are_accepted(char):
    assert check_password(f"Xk8#mq2L{char}") == [msg.PASSWORD_FORBIDDEN_CHARACTER]
    assert "Les symboles suivants sont acceptés ! + @ # $ % ^ & * ()" in msg.PASSWORD_FORBIDDEN_CHARACTER


def test_accents_and_forbidden_characters_are_two_messages():
    assert check_password("Xk8#mq2Lé ") == [msg.PASSWORD_NO_ACCENTS, msg.PASSWORD_FORBIDDEN_CHARACTER]


def test_too_long():
    assert check_password("Xk8#" + "a" * 200) == [msg.PASSWORD_TOO_LONG.format(max=128)]


def test_is_accented():
    assert is_accented("é") and is_accented("À") and is_accented("ß") and is_accented("Œ")
    assert not is_accented("e") and not is_accented("€") and not is_accented("ж") and not is_accented("1")


def test_the_common_password_list_is_large_enough_and_lower_case():
    common = common_passwords()
    assert len(common) >= 1000
    assert all(p == p.lower() for p in common)


@pytest.mark.parametrize("password", [
    "Password1", "PASSWORD1", "Azerty123", "Motdepasse1", "Soleil2024", "Printemps2023", "Roubaix59",
    "Azerty123!", "Qwerty123", "Marseille13", "Nicolas2010",
])
def test_common_passwords_are_refused_case_insensitively(password):
    assert msg.PASSWORD_TOO_COMMON in check_password(password)


def test_common_password_alone_is_the_only_message_when_rules_pass():
    assert check_password("Azerty123") == [msg.PASSWORD_TOO_COMMON]


def test_is_common_ignores_trailing_and_leading_accepted_symbols():
    assert is_common("!!AZERTY123!!")
    assert not is_common(GOOD)


def test_password_containing_the_login_is_refused():
    assert check_password("xpdupin#X1", login="pdupin") == [msg.PASSWORD_CONTAINS_LOGIN]
    assert check_password("PDupin#2024", login="PDUPIN") == [msg.PASSWORD_CONTAINS_LOGIN]
    assert check_password("Pdu#2024xy", login="pdu") == [msg.PASSWORD_CONTAINS_LOGIN]


def test_password_containing_a_part_of_the_login_is_refused():
    assert check_password("Pascal1988", login="pascal.dupin") == [msg.PASSWORD_CONTAINS_LOGIN]


def test_short_login_parts_do_not_trigger():
    assert check_password(GOOD, login="xk.lp") == []


def test_password_containing_the_email_local_part_is_refused():
    assert check_password("Jdupond#77", email="JDupond@test.fr") == [msg.PASSWORD_CONTAINS_EMAIL]
    assert check_password(GOOD, email="jacques.dupond@test.fr") == []


def test_login_and_email_together():
    problems = check_password("Abcdefg1xy7z", login="abcdefg", email="xy7z@test.fr")
    assert problems == [msg.PASSWORD_CONTAINS_LOGIN, msg.PASSWORD_CONTAINS_EMAIL]


def test_confirmation():
    assert check_password_confirmation(GOOD, GOOD) == []
    assert check_password_confirmation(GOOD, GOOD + "x") == [msg.PASSWORD_CONFIRMATION_MISMATCH]


def test_argon2id_hash_and_verify():
    stored = hash_password(GOOD)
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "x")
    assert not needs_rehash(stored)


def test_verify_never_raises_on_a_bad_hash():
    assert not verify_password("not-a-hash", GOOD)
    assert not verify_password("", GOOD)
    assert needs_rehash("not-a-hash")


def test_needs_rehash_when_parameters_change():
    weak = hash_password(GOOD, hasher=FAST)
    assert verify_password(weak, GOOD)  # the default hasher still verifies it
    assert needs_rehash(weak)
    assert not needs_rehash(weak, hasher=FAST)


def test_verify_against_nothing_is_always_false():
    assert verify_against_nothing(GOOD, hasher=FAST) is False


def test_security_answers_ignore_case_accents_and_spaces():
    assert normalise_security_answer("  Médor   le  CHIEN ") == "medor le chien"
    stored = hash_security_answer("Médor", hasher=FAST)
    assert verify_security_answer(stored, " medor ", hasher=FAST)
    assert not verify_security_answer(stored, "rex", hasher=FAST)
