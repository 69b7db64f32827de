"""Role names, and the user attributes the product's API models declare.

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

# Existing users get null, an empty address list and false: nothing was recorded for them.
USER_COLUMNS = (
    sa.Column("client_id", sa.Integer(), nullable=True),
    sa.Column("reseller_id", sa.Integer(), nullable=True),
    sa.Column("landing_page", sa.String(length=255), nullable=True),
    sa.Column("auth_ip", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column("report_group", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("avatar_id", sa.Integer(), nullable=True),
    sa.Column("card_id", sa.Integer(), nullable=True),
    sa.Column("default_mod", sa.String(length=100), nullable=True),
    sa.Column("default_mod2", sa.String(length=100), nullable=True),
    sa.Column("all_termination", sa.Boolean(), server_default=sa.false(), nullable=False),
)


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("role_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role_name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("role_id", name="pk_roles"),
    )
    # Plain ALTER TABLE on every backend (SQLite has ADD and DROP COLUMN since
    # 3.35), rather than copying the whole table as a batch migration would.
    for column in USER_COLUMNS:
        op.add_column("users", column)


def downgrade() -> None:
    for column in reversed(USER_COLUMNS):
        op.drop_column("users", column.name)
    op.drop_table("roles")
