import pytest

from guichet_accounts.domain import messages as msg
from guichet_contracts.identifiers import (
    IdentifierError,
    is_valid_rna,
    is_valid_siret,
    luhn_valid,
    normalise_rna,
    normalise_siret,
)


def test_luhn():
    assert luhn_valid("79927398713")  # the classic example
    assert not luhn_valid("79927398710")
    assert not luhn_valid("12a4")


@pytest.mark.parametrize("siret", [
    "73282932000074",
    "732 829 320 00074",
    "35600000000048",  # La Poste head office: passes Luhn
    "35600000049837",  # La Poste establishment: digit sum multiple of 5, fails Luhn
])
def test_valid_sirets(siret):
    assert is_valid_siret(siret)
    assert normalise_siret(siret) == siret.replace(" ", "")


def test_siret_checksum():
    with pytest.raises(IdentifierError) as error:
        normalise_siret("73282932000075")
    assert str(error.value) == msg.SIRET_CHECKSUM
    assert not is_valid_siret("35600000012345")  # La Poste, neither Luhn nor sum % 5


@pytest.mark.parametrize("siret", ["", "7328293200007", "732829320000744", "7328293200007A", None])
def test_siret_must_have_14_digits(siret):
    with pytest.raises(IdentifierError) as error:
        normalise_siret(siret)
    assert str(error.value) == msg.SIRET_INVALID


@pytest.mark.parametrize("rna, expected", [
    ("W751234567", "W751234567"),
    ("w751234567", "W751234567"),
    ("W 751 234 567", "W751234567"),
    ("W2A1000123", "W2A1000123"),  # Corse-du-Sud
    ("W9R2000001", "W9R2000001"),  # overseas prefecture code
])
def test_valid_rna(rna, expected):
    assert normalise_rna(rna) == expected
    assert is_valid_rna(rna)


@pytest.mark.parametrize("rna", ["", "751234567", "W75123456", "W7512345678", "X751234567", "WA51234567",
                                 "W75A234567", "Wa1#89sf&h", None])
def test_invalid_rna(rna):
    with pytest.raises(IdentifierError) as error:
        normalise_rna(rna)
    assert str(error.value) == msg.RNA_INVALID
