"""Initial schema: users, roles, plans, clients, owners, subclients, role associations, tokens.

Create Date: 2026-11-23 17:44:21.464219
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_name", sa.String(length=255), nullable=False),
        sa.Column("host_name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("client_guid", sa.String(length=36), nullable=False),
        sa.Column("app_name", sa.String(length=64), nullable=False),
        sa.Column("instance_name", sa.String(length=64), nullable=False),
        sa.Column("backupset_name", sa.String(length=64), nullable=False),
        sa.Column("vm_guid", sa.String(length=36), nullable=True),
        sa.Column("pseudo_client_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pseudo_client_id"],
            ["clients.client_id"],
        ),
        sa.PrimaryKeyConstraint("client_id"),
        sa.UniqueConstraint("client_name"),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("plan_name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
        sa.UniqueConstraint("plan_name"),
    )
    op.create_table(
        "roles",
        sa.Column("role_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role_name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("role_id"),
        sa.UniqueConstraint("role_name"),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("user_guid", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("enable_user", sa.Boolean(), nullable=False),
        sa.Column("is_master", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "client_owners",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("client_id", "user_id"),
    )
    with op.batch_alter_table("client_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_owners_user_id"), ["user_id"], unique=False)

    op.create_table(
        "role_associations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.role_id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "client_id", "role_id"),
    )
    op.create_table(
        "subclients",
        sa.Column("subclient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("subclient_name", sa.String(length=255), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("enable_backup", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.plan_id"],
        ),
        sa.PrimaryKeyConstraint("subclient_id"),
    )
    with op.batch_alter_table("subclients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subclients_client_id"), ["client_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("timeout_minutes", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_user_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("subclients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subclients_client_id"))

    op.drop_table("subclients")
    op.drop_table("role_associations")
    with op.batch_alter_table("client_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_owners_user_id"))

    op.drop_table("client_owners")
    op.drop_table("users")
    op.drop_table("roles")
    op.drop_table("plans")
    op.drop_table("clients")
