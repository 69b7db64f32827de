"""svc-bulkuser demo data, loaded idempotently when DEMO_DATA=1."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_bulkuser.models import User
from vendorkit.security import hash_secret

# name, password, user_type, role_id, active, create_time (spec §8); ids 1..9 on a fresh database.
DEMO_USERS = (
    ("admin", "admin-demo", "admin", 1, True, datetime(2024, 1, 1)),
    ("agent1", "agent-demo", "agent", 2, True, datetime(2024, 1, 2)),
    ("agent2", None, "agent", 2, False, datetime(2024, 1, 3)),
    ("client1", None, "client", 4, True, datetime(2024, 1, 4)),
    ("client2", None, "client", 4, False, datetime(2024, 1, 5)),
    ("viewer1", None, "viewer", 5, True, datetime(2024, 1, 6)),
    # The disposable targets of the document's DELETE /v1/user/all?role_id=3.
    ("support1", None, "agent", 3, True, datetime(2024, 1, 7)),
    ("support2", None, "agent", 3, True, datetime(2024, 1, 8)),
    ("support3", None, "client", 3, False, datetime(2024, 1, 9)),
)


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
    existing = set(session.scalars(select(User.name).where(User.name.in_([row[0] for row in DEMO_USERS]))))
    for name, password, user_type, role_id, active, create_time in DEMO_USERS:
        if name in existing:
            continue
        session.add(
            User(
                name=name,
                email=f"{name}@example.com",
                password_hash=hash_secret(password) if password else None,
                user_type=user_type,
                role_id=role_id,
                active=active,
                create_time=create_time,
            )
        )
        # One flush per user keeps the ids in the table's order.
        session.flush()
