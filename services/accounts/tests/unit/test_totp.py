import base64
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest

from guichet_accounts.domain import totp

RFC_SECRETS = {  # RFC 6238 appendix B seeds, base32-encoded
    "SHA1": base64.b32encode(b"12345678901234567890").decode(),
    "SHA256": base64.b32encode(b"12345678901234567890123456789012").decode(),
    "SHA512": base64.b32encode(b"1234567890123456789012345678901234567890123456789012345678901234").decode(),
}

RFC6238_VECTORS = [  # time, SHA1, SHA256, SHA512
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("at, sha1, sha256, sha512", RFC6238_VECTORS)
def test_rfc6238_vectors(at, sha1, sha256, sha512):
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        assert totp.totp(RFC_SECRETS[algorithm], at, digits=8, algorithm=algorithm) == expected


RFC4226_VECTORS = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
                   "520489"]


@pytest.mark.parametrize("counter, expected", list(enumerate(RFC4226_VECTORS)))
def test_rfc4226_hotp_vectors(counter, expected):
    assert totp.hotp(b"12345678901234567890", counter) == expected


def test_datetime_and_epoch_agree():
    at = datetime(2009, 2, 13, 23, 31, 30, tzinfo=timezone.utc)  # 1234567890
    assert totp.totp(RFC_SECRETS["SHA1"], at, digits=8) == "89005924"


def test_generated_secrets():
    secret = totp.generate_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    assert secret != totp.generate_secret()
    assert len(totp.totp(secret, 0)) == 6


def test_verify_with_drift_window_and_replay_protection():
    secret = totp.generate_secret()
    now = 1_700_000_000
    code = totp.totp(secret, now)
    step = totp.verify(secret, code, now)
    assert step == now // 30
    assert totp.verify(secret, code, now + 30) == step  # one step of drift
    assert totp.verify(secret, code, now + 90) is None  # too late
    assert totp.verify(secret, code, now, last_used_step=step) is None  # already used
    assert totp.verify(secret, " ".join([code[:3], code[3:]]), now) == step  # « 123 456 »


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", None])
def test_malformed_codes(code):
    assert totp.verify(totp.generate_secret(), code, 0) is None


def test_wrong_code():
    secret = RFC_SECRETS["SHA1"]
    good = totp.totp(secret, 59)
    wrong = str((int(good) + 1) % 1_000_000).zfill(6)
    assert totp.verify(secret, wrong, 59, window=0) is None


def test_provisioning_uri():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "agent.etat-civil@roubaix", issuer="Guichet Roubaix")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert parsed.path == "/Guichet%20Roubaix:agent.etat-civil@roubaix"
    query = parse_qs(parsed.query)
    assert query == {"secret": ["JBSWY3DPEHPK3PXP"], "issuer": ["Guichet Roubaix"], "algorithm": ["SHA1"],
                     "digits": ["6"], "period": ["30"]}
