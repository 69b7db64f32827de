"""The users table with an index on every filtered column.

Create Date: 2026-11-23 17:44:56
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

INDEXED = ("user_type", "role_id", "create_time", "last_login_time", "login_ip", "last_seen")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("create_time", sa.DateTime(), nullable=False),
        sa.Column("last_login_time", sa.DateTime(), nullable=True),
        sa.Column("login_ip", sa.String(length=45), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("create_user_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_users"),
        # The unique constraints are the indexes of the name and email filters.
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    for column in INDEXED:
        op.create_index(f"ix_users_{column}", "users", [column])


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(f"ix_users_{column}", table_name="users")
    op.drop_table("users")
