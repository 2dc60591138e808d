"""Messages the seeds quote are reproduced verbatim (checked against the seed files when they are present)."""
import re
from pathlib import Path

import pytest

from guichet_accounts.domain import messages as msg

SEED_FILES = {
    "000": "000_e084329cd4830819.txt",
    "001": "001_8d370d5030f15c10.txt",
    "002": "002_f94f733b355aef03.txt",
    "003": "003_f95323cbe5982f48.txt",
    "004": "004_c41a78006883e128.txt",
}


def _seeds_dir() -> Path | None:
    repo = Path(__file__).resolve().parents[4]
    for candidate in (repo.parent / "shared" / "seeds", repo / "shared" / "seeds", Path("/work/shared/seeds")):
        if candidate.is_dir():
            return candidate
    return None


def _seed_text(seed: str) -> str:
    directory = _seeds_dir()
    if directory is None:
        pytest.skip("the seed manuals (shared/seeds) are not beside this checkout")
    text = (directory / SEED_FILES[seed]).read_text(encoding="utf-8")
    text = text.replace("\\$", "$")  # Markdown escape in the export
    text = text.replace("**", "")  # Markdown bold
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # Markdown links: keep the words shown
    return " ".join(text.split())


VERBATIM = [
    ("004", msg.PASSWORD_POLICY),
    ("004", msg.PASSWORD_CREATE_PROMPT),
    ("002", msg.PASSWORD_HINT_SAINT_JOSEPH),
    ("004", msg.PASSWORD_NO_ACCENTS),
    ("004", msg.PASSWORD_SYMBOLS_ACCEPTED),
    ("004", msg.PASSWORD_REPEAT_LABEL),
    ("004", msg.LOGIN_DEFAULT_NOTICE),
    ("004", msg.LOGIN_LABEL),
    ("004", msg.FORGOTTEN_WHAT),
    ("004", msg.FORGOTTEN_MY_LOGIN),
    ("004", msg.FORGOTTEN_MY_PASSWORD),
    ("004", msg.FORGOTTEN_LOGIN_SENT),
    ("004", msg.FORGOTTEN_PASSWORD_SENT),
    ("002", msg.RECOVERY_NEEDS_EMAIL),
    ("002", msg.PROVISIONED_EMAIL_MISSING),
    ("002", msg.PROVISIONED_FIRST_LOGIN_WARNING),
    ("002", msg.PROVISIONED_EMAIL_IMPERATIVE),
    ("002", msg.PROVISIONED_NO_NEW_ACCOUNT),
    ("003", msg.ACCOUNT_NOT_VALIDATED_RULE),
    ("002", msg.REQUIRED_FIELDS_NOTICE),
    ("001", msg.EMAIL_NEEDED_NOTICE),
    ("002", msg.SECURITY_QUESTION_NOTICE),
    ("002", msg.SECURITY_QUESTION_REQUIRED),
    ("004", msg.CAPTCHA_LABEL),
    ("002", msg.CAPTCHA_LABEL_SAINT_JOSEPH),
    ("004", msg.CAPTCHA_REFRESH_HINT),
    ("004", msg.FIELD_LABELS["cgu_accepted"]),
    ("002", "au moins un numéro de téléphone est obligatoire"),
    ("001", msg.LAST_LOGIN.format(date="10/07/2017", time="16:13")),
] + [(seed, text) for seed, texts in {
    "000": list(msg.ACCOUNT_TYPES.values()),
    "002": [msg.FIELD_LABELS[k] for k in ("phones", "phones.personal", "phones.mobile", "phones.office",
                                          "address.apartment", "address.building", "address.postal_code",
                                          "address.locality", "security_question", "security_answer")],
    "004": [msg.FIELD_LABELS[k] for k in ("civility", "birth_name", "usage_name", "first_name", "second_first_name",
                                          "third_first_name", "birth_date", "birth_country", "birth_commune",
                                          "birth_department", "email")],
}.items() for text in texts]


@pytest.mark.parametrize("seed, text", VERBATIM, ids=[f"{s}:{t[:40]}" for s, t in VERBATIM])
def test_quoted_messages_are_verbatim(seed, text):
    assert " ".join(text.split()) in _seed_text(seed)


def test_per_rule_password_messages_are_cut_from_the_seed_policy():
    policy = msg.PASSWORD_POLICY
    assert "au minimum 8 caractères" in policy and "au minimum 8 caractères" in msg.PASSWORD_TOO_SHORT
    for fragment, message in (("un caractère majuscule", msg.PASSWORD_NEEDS_UPPER),
                              ("un caractère minuscule", msg.PASSWORD_NEEDS_LOWER),
                              ("un chiffre", msg.PASSWORD_NEEDS_DIGIT)):
        assert fragment in policy and message == f"Le mot de passe doit contenir {fragment}."
    assert msg.PASSWORD_SYMBOLS_ACCEPTED in msg.PASSWORD_FORBIDDEN_CHARACTER


def test_refusal_for_unvalidated_account_quotes_the_faq():
    assert msg.ACCOUNT_NOT_VALIDATED.endswith(msg.ACCOUNT_NOT_VALIDATED_RULE)


def test_phone_message_quotes_saint_joseph():
    assert "au moins un numéro de téléphone est obligatoire" in msg.PHONES_AT_LEAST_ONE


def test_messages_are_french_not_marshmallow_defaults():
    texts = [v for k, v in vars(msg).items() if k.isupper() and isinstance(v, str)]
    assert texts
    for english in ("Missing data", "Not a valid", "Unknown field", "Invalid value"):
        assert not any(english in t for t in texts)
