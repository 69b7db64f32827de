"""Clients' operating system, cvd port and time zone (read by cvpysdk's Client object).

Create Date: 2026-12-02 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

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
