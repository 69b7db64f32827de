"""Announce every change that could alter a token's caller, for the per-process caller caches (PostgreSQL).

Create Date: 2026-12-02
"""

from alembic import op

revision = "0002"
down_revision = "0001"

CHANNEL = "svc_emm_callers"  # svc_emm.auth.CALLERS_CHANNEL, fixed here as it was at this revision
FUNCTION = "emm_announce_caller_change"
# A caller is a token joined to its user and whether that user holds the admin role. A new
# token or user changes no cached caller; a new role changes none until a user is given it.
EVENTS = {
    "emm_tokens": "UPDATE OR DELETE OR TRUNCATE",
    "emm_users": "UPDATE OR DELETE OR TRUNCATE",
    "emm_roles": "UPDATE OR DELETE OR TRUNCATE",
    "emm_user_roles": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite announces nothing; the caches stay off there
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    for table, events in EVENTS.items():
        # Once per statement, delivered at commit (and not at all on rollback).
        op.execute(
            f"CREATE TRIGGER {table}_announce AFTER {events} ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in EVENTS:
        op.execute(f"DROP TRIGGER {table}_announce ON {table}")
    op.execute(f"DROP FUNCTION {FUNCTION}()")
