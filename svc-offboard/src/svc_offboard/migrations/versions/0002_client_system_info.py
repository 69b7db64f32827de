"""Clients' operating system, cvd port and time zone (read by cvpysdk's Client object).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    sa.Column("os_type", sa.String(length=64), nullable=False, server_default=""),
    sa.Column("os_subtype", sa.String(length=64), nullable=False, server_default=""),
    sa.Column("os_name", sa.String(length=255), nullable=False, server_default=""),
    sa.Column("processor_type", sa.String(length=64), nullable=False, server_default=""),
    sa.Column("cvd_port", sa.Integer(), nullable=False, server_default="8400"),
    sa.Column(
        "time_zone_name",
        sa.String(length=255),
        nullable=False,
        server_default="(UTC) Coordinated Universal Time",
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        for column in COLUMNS:
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
