"""Accounts, households, social data, signing keys, sessions, one-time tokens, throttling, captcha, agents, audit.

Revision ID: accounts_0002
Revises: accounts_0001
"""
import sqlalchemy as sa
from alembic import op

from guichet_common.db import BigIntegerKey, UtcDateTime

revision = "accounts_0002"
down_revision = "accounts_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('account_type', sa.String(length=20), nullable=False),
    sa.Column('provisioned', sa.Boolean(), nullable=False),
    sa.Column('civility', sa.String(length=20), nullable=True),
    sa.Column('birth_name', sa.String(length=100), nullable=True),
    sa.Column('usage_name', sa.String(length=100), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('second_first_name', sa.String(length=100), nullable=True),
    sa.Column('third_first_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('birth_country', sa.String(length=60), nullable=True),
    sa.Column('birth_commune', sa.String(length=100), nullable=True),
    sa.Column('birth_department', sa.String(length=3), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone_personal', sa.String(length=20), nullable=True),
    sa.Column('phone_mobile', sa.String(length=20), nullable=True),
    sa.Column('phone_office', sa.String(length=20), nullable=True),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('organisation_name', sa.String(length=200), nullable=True),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('rna', sa.String(length=10), nullable=True),
    sa.Column('communication_preference', sa.String(length=10), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('security_question', sa.String(length=64), nullable=True),
    sa.Column('security_answer_hash', sa.String(length=255), nullable=True),
    sa.Column('family_file_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('updated_at', UtcDateTime, nullable=False),
    sa.Column('cgu_accepted_at', UtcDateTime, nullable=True),
    sa.Column('activated_at', UtcDateTime, nullable=True),
    sa.Column('validated_at', UtcDateTime, nullable=True),
    sa.Column('validated_by', sa.String(length=36), nullable=True),
    sa.Column('last_login_at', UtcDateTime, nullable=True),
    sa.Column('previous_login_at', UtcDateTime, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('login', name=op.f('uq_accounts_login'))
    )
    op.create_index(op.f('ix_accounts_email'), 'accounts', ['email'], unique=False)
    op.create_table('agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('last_login_at', UtcDateTime, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('login', name=op.f('uq_agents_login'))
    )
    op.create_table('audit_log',
    sa.Column('id', BigIntegerKey, autoincrement=True, nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=True),
    sa.Column('at', UtcDateTime, nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_agent_id'), 'audit_log', ['agent_id'], unique=False)
    op.create_table('captcha_challenges',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.String(length=16), nullable=False),
    sa.Column('expires_at', UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_captcha_challenges'))
    )
    op.create_table('refresh_families',
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('current_hash', sa.String(length=64), nullable=False),
    sa.Column('used_hashes', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('current_issued_at', UtcDateTime, nullable=False),
    sa.Column('expires_at', UtcDateTime, nullable=False),
    sa.Column('revoked_at', UtcDateTime, nullable=True),
    sa.Column('revoked_reason', sa.String(length=30), nullable=True),
    sa.PrimaryKeyConstraint('family_id', name=op.f('pk_refresh_families'))
    )
    op.create_index(op.f('ix_refresh_families_subject'), 'refresh_families', ['subject'], unique=False)
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_key_pem', sa.Text(), nullable=False),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('superseded_at', UtcDateTime, nullable=True),
    sa.Column('retired_at', UtcDateTime, nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_keys'))
    )
    op.create_table('throttle_records',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('expires_at', UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_records'))
    )
    op.create_index(op.f('ix_throttle_records_expires_at'), 'throttle_records', ['expires_at'], unique=False)
    op.create_table('household_members',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('relation', sa.String(length=50), nullable=True),
    sa.Column('civility', sa.String(length=20), nullable=True),
    sa.Column('birth_name', sa.String(length=100), nullable=True),
    sa.Column('usage_name', sa.String(length=100), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('guardians', sa.JSON(), nullable=True),
    sa.Column('school', sa.JSON(), nullable=True),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('updated_at', UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_household_members_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_members'))
    )
    op.create_index(op.f('ix_household_members_account_id'), 'household_members', ['account_id'], unique=False)
    op.create_table('one_time_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', UtcDateTime, nullable=False),
    sa.Column('expires_at', UtcDateTime, nullable=False),
    sa.Column('used_at', UtcDateTime, nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_one_time_tokens_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_one_time_tokens'))
    )
    op.create_index(op.f('ix_one_time_tokens_account_id'), 'one_time_tokens', ['account_id'], unique=False)
    op.create_table('refresh_token_hashes',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['refresh_families.family_id'], name=op.f('fk_refresh_token_hashes_family_id_refresh_families'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_token_hashes'))
    )
    op.create_index(op.f('ix_refresh_token_hashes_family_id'), 'refresh_token_hashes', ['family_id'], unique=False)
    op.create_table('social_data',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('regime', sa.String(length=50), nullable=True),
    sa.Column('reference_tax_income', sa.BigInteger(), nullable=True),
    sa.Column('allocataire_name', sa.String(length=200), nullable=True),
    sa.Column('caf_number', sa.String(length=20), nullable=True),
    sa.Column('quotient_familial', sa.Integer(), nullable=True),
    sa.Column('dependent_children', sa.Integer(), nullable=True),
    sa.Column('monthly_resources_cents', sa.BigInteger(), nullable=True),
    sa.Column('family_composition', sa.String(length=100), nullable=True),
    sa.Column('updated_at', UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_social_data_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_social_data'))
    )


def downgrade():
    op.drop_table('social_data')
    op.drop_index(op.f('ix_refresh_token_hashes_family_id'), table_name='refresh_token_hashes')
    op.drop_table('refresh_token_hashes')
    op.drop_index(op.f('ix_one_time_tokens_account_id'), table_name='one_time_tokens')
    op.drop_table('one_time_tokens')
    op.drop_index(op.f('ix_household_members_account_id'), table_name='household_members')
    op.drop_table('household_members')
    op.drop_index(op.f('ix_throttle_records_expires_at'), table_name='throttle_records')
    op.drop_table('throttle_records')
    op.drop_table('signing_keys')
    op.drop_index(op.f('ix_refresh_families_subject'), table_name='refresh_families')
    op.drop_table('refresh_families')
    op.drop_table('captcha_challenges')
    op.drop_index(op.f('ix_audit_log_agent_id'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('agents')
    op.drop_index(op.f('ix_accounts_email'), table_name='accounts')
    op.drop_table('accounts')
