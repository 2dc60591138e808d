"""Tables of the accounts service. Only this service reads or writes them.

Secrets are never stored in clear: passwords and security answers as argon2id
hashes, refresh tokens and one-time tokens (activation, reset) as SHA-256
digests. Captcha texts are kept as such until checked or expired (see
captcha_challenges). The Ed25519 signing keys are
stored as PKCS#8 PEM in this service's own database, unencrypted (the
database is private to the service and its role; an operator who wants them
encrypted at rest sets GUICHET_ACCOUNTS_KEY_PASSPHRASE, see keys.py).
"""
import sqlalchemy as sa

from guichet_common.db import BigIntegerKey, UtcDateTime, messaging_tables, new_metadata

metadata = new_metadata()
outbox, inbox = messaging_tables(metadata)

_ID = sa.String(36)


def _name(column: str, nullable: bool = True) -> sa.Column:
    return sa.Column(column, sa.String(100), nullable=nullable)


accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),  # pending_activation | awaiting_validation | active
    sa.Column("account_type", sa.String(20), nullable=False),
    sa.Column("provisioned", sa.Boolean, nullable=False, default=False),
    sa.Column("civility", sa.String(20), nullable=True),
    _name("birth_name"), _name("usage_name"), _name("first_name"),
    _name("second_first_name"), _name("third_first_name"),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("birth_country", sa.String(60), nullable=True),
    sa.Column("birth_commune", sa.String(100), nullable=True),
    sa.Column("birth_department", sa.String(3), nullable=True),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    sa.Column("phone_personal", sa.String(20), nullable=True),
    sa.Column("phone_mobile", sa.String(20), nullable=True),
    sa.Column("phone_office", sa.String(20), nullable=True),
    sa.Column("address", sa.JSON, nullable=True),
    sa.Column("organisation_name", sa.String(200), nullable=True),
    sa.Column("siret", sa.String(14), nullable=True),
    sa.Column("rna", sa.String(10), nullable=True),
    sa.Column("communication_preference", sa.String(10), nullable=False),
    sa.Column("login", sa.String(64), nullable=True, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=True),
    # Set while the password is the initial one the town printed (provisioned accounts): it must be changed at
    # the first login and stops working at this time. NULL: a password the citizen chose.
    sa.Column("initial_password_expires_at", UtcDateTime, nullable=True),
    sa.Column("security_question", sa.String(64), nullable=True),
    sa.Column("security_answer_hash", sa.String(255), nullable=True),
    sa.Column("family_file_ref", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("cgu_accepted_at", UtcDateTime, nullable=True),
    sa.Column("activated_at", UtcDateTime, nullable=True),
    sa.Column("validated_at", UtcDateTime, nullable=True),
    sa.Column("validated_by", _ID, nullable=True),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
    sa.Column("previous_login_at", UtcDateTime, nullable=True),
)

household_members = sa.Table(
    "household_members", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("account_id", _ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),  # titulaire | conjoint | enfant | autre
    sa.Column("relation", sa.String(50), nullable=True),
    sa.Column("civility", sa.String(20), nullable=True),
    _name("birth_name"), _name("usage_name"), _name("first_name", nullable=False),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("sex", sa.String(1), nullable=True),
    sa.Column("guardians", sa.JSON, nullable=True),  # [{"relation": "pere"|"mere"|"tuteur", "member_id"?, "name"?}]
    sa.Column("school", sa.JSON, nullable=True),  # {"school_year", "school", "level", "class", "certificate_url"}
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

social_data = sa.Table(
    "social_data", metadata,
    sa.Column("account_id", _ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("regime", sa.String(50), nullable=True),
    sa.Column("reference_tax_income", sa.BigInteger, nullable=True),  # euros
    sa.Column("allocataire_name", sa.String(200), nullable=True),
    sa.Column("caf_number", sa.String(20), nullable=True),
    sa.Column("quotient_familial", sa.Integer, nullable=True),
    sa.Column("dependent_children", sa.Integer, nullable=True),
    sa.Column("monthly_resources_cents", sa.BigInteger, nullable=True),
    sa.Column("family_composition", sa.String(100), nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

signing_keys = sa.Table(
    "signing_keys", metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("private_key_pem", sa.Text, nullable=False),
    sa.Column("encrypted", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("superseded_at", UtcDateTime, nullable=True),
    sa.Column("retired_at", UtcDateTime, nullable=True),
)

refresh_families = sa.Table(
    "refresh_families", metadata,
    sa.Column("family_id", sa.String(64), primary_key=True),
    sa.Column("subject", _ID, nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("current_hash", sa.String(64), nullable=False),
    sa.Column("used_hashes", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("current_issued_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("revoked_reason", sa.String(30), nullable=True),
)

# Every refresh-token hash ever issued -> its family (finds the family of a reused token).
refresh_token_hashes = sa.Table(
    "refresh_token_hashes", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(64), sa.ForeignKey("refresh_families.family_id", ondelete="CASCADE"),
              nullable=False, index=True),
)

one_time_tokens = sa.Table(
    "one_time_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(20), nullable=False),  # activation | password_reset
    sa.Column("account_id", _ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime, nullable=True),
)

throttle_records = sa.Table(
    "throttle_records", metadata,
    sa.Column("key", sa.String(120), primary_key=True),  # namespace + SHA-256 prefix: no login, email or IP
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# The challenge text itself, not a digest: the audio alternative (captcha_audio) must spell the characters
# the image shows, after the challenge was created. It is a throw-away secret worth one registration attempt,
# in this service's private database, deleted when an answer is checked (right or wrong) and purged 10 minutes
# after creation; encrypting it would need a key kept next to it for no gain.
captcha_challenges = sa.Table(
    "captcha_challenges", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("text", sa.String(16), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# Secrets of the service itself, made at random once and shared by every replica through the database
# (e.g. the key of the made-up security questions of accounts that have none: see application/recovery.py).
service_secrets = sa.Table(
    "service_secrets", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),  # hex
    sa.Column("created_at", UtcDateTime, nullable=False),
)

agents = sa.Table(
    "agents", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("login", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=True),  # NULL: no second factor (demo only)
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", BigIntegerKey, primary_key=True, autoincrement=True),
    sa.Column("agent_id", _ID, nullable=False, index=True),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.String(100), nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("details", sa.JSON, nullable=True),
)
