"""initial: users, roles, tokens, devices, outbox; pg_trgm search index on PostgreSQL

Create Date: 2026-11-23 17:46:32
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "emm_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("firstname", sa.String(length=100), nullable=True),
        sa.Column("lastname", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_index("ix_emm_users_username_lower", "emm_users", [sa.text("lower(username)")])
    if op.get_bind().dialect.name == "postgresql":
        # Serves lower(username) LIKE '%x%' (view-users, users-by-username) and
        # the prefix filter; a b-tree cannot help with a leading wildcard.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_emm_users_username_trgm ON emm_users USING gin (lower(username) gin_trgm_ops)"
        )

    op.create_table(
        "emm_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_emm_roles_name_lower", "emm_roles", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "emm_user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["emm_roles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["emm_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role_id"),
    )

    op.create_table(
        "emm_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("access_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("refresh_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("access_hash"),
        sa.UniqueConstraint("refresh_hash"),
    )
    op.create_index("ix_emm_tokens_username", "emm_tokens", ["username"])

    op.create_table(
        "emm_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("device_identifier", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "emm_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("ownership", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("date_of_enrolment", sa.BigInteger(), nullable=False),
        sa.Column("date_of_last_update", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["emm_devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id"),
    )
    op.create_index("ix_emm_enrolments_owner", "emm_enrolments", ["owner"])
    op.create_table(
        "emm_device_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["emm_devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emm_device_properties_device_id", "emm_device_properties", ["device_id"])

    op.create_table(
        "emm_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emm_outbox_type", "emm_outbox", ["type"])
    op.create_index("ix_emm_outbox_username", "emm_outbox", ["username"])


def downgrade() -> None:
    op.drop_table("emm_outbox")
    op.drop_table("emm_device_properties")
    op.drop_table("emm_enrolments")
    op.drop_table("emm_devices")
    op.drop_table("emm_tokens")
    op.drop_table("emm_user_roles")
    op.drop_table("emm_roles")
    op.drop_table("emm_users")
