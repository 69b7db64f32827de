"""initial: companies, API accounts, users, record permissions, tokens, rate hits, audit

Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

ACTIVE = sa.text("removed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id_firma", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("licensed_agendas", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id_firma"),
    )
    op.create_table(
        "api_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_login", sa.String(length=100), nullable=False),
        sa.Column("login_key", sa.String(length=100), nullable=False),
        sa.Column("api_key_hash", sa.String(length=255), nullable=False),
        sa.Column("key_revoked", sa.Boolean(), nullable=False),
        sa.Column("ip_filter", sa.String(length=1000), nullable=True),
        sa.Column("rate_policy", sa.String(length=50), nullable=True),
        sa.Column("id_firma", sa.Integer(), nullable=False),
        sa.Column("privileges", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["id_firma"], ["companies.id_firma"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login_key"),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("target_login_name", sa.String(length=100), nullable=True),
        sa.Column("id_firma", sa.Integer(), nullable=False),
        sa.Column("client_address", sa.String(length=100), nullable=False),
        sa.Column("result_code", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["api_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["api_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_hits_account_at", "rate_hits", ["account_id", "at"])
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["api_accounts.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_tokens_expires_at", "tokens", ["expires_at"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_firma", sa.Integer(), nullable=False),
        sa.Column("login_name", sa.String(length=100), nullable=False),
        sa.Column("login_key", sa.String(length=100), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("verification_nt", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=True),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column("lock", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("time_last_change", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["id_firma"], ["companies.id_firma"]),
        sa.ForeignKeyConstraint(["removed_by"], ["api_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_users_firma_login_key", "users", ["id_firma", "login_key"])
    # At most one active user per LoginName (lowercased), over all companies.
    op.create_index(
        "uq_users_active_login_key",
        "users",
        ["login_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "record_permissions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("can_view", sa.Boolean(), nullable=False),
        sa.Column("can_edit", sa.Boolean(), nullable=False),
        sa.Column("can_delete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["api_accounts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("account_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("record_permissions")
    op.drop_index("uq_users_active_login_key", table_name="users")
    op.drop_index("ix_users_firma_login_key", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_tokens_expires_at", table_name="tokens")
    op.drop_table("tokens")
    op.drop_index("ix_rate_hits_account_at", table_name="rate_hits")
    op.drop_table("rate_hits")
    op.drop_table("audit_entries")
    op.drop_table("api_accounts")
    op.drop_table("companies")
