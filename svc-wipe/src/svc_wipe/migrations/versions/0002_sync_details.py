"""A user's display name and what the ActiveSync server recorded about each device.

Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

# Nullable: rows written before this revision have no such values, and neither
# does a device first seen in a wipe report.
DEVICE_COLUMNS = (
    ("device_type", sa.String(length=64)),
    ("user_agent", sa.String(length=255)),
    ("first_sync_time", sa.DateTime()),
    ("last_update_time", sa.DateTime()),
    ("as_version", sa.String(length=16)),
    ("folders_syncable", sa.Integer()),
    ("folders_synced", sa.Integer()),
)


# Plain ALTER TABLE on every backend (SQLite has ADD and DROP COLUMN since 3.35):
# a batch "move and copy" would drop the users table, and with it, through the
# cascading foreign keys, every device and its history, and lose the
# expression index on lower(username).


def upgrade() -> None:
    op.add_column("users", sa.Column("real_name", sa.String(length=255), nullable=True))
    for name, type_ in DEVICE_COLUMNS:
        op.add_column("devices", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(DEVICE_COLUMNS):
        op.drop_column("devices", name)
    op.drop_column("users", "real_name")
