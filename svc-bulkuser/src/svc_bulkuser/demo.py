"""svc-bulkuser demo data, loaded idempotently when DEMO_DATA=1."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_bulkuser.models import Role, User
from vendorkit.security import hash_secret

# name, password, user_type, role_id, active, create_time (docs/bulkuser.md section 8); ids 1..9 on a fresh database.
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


# The roles the demo users hold, by id.
DEMO_ROLES = {1: "admin", 2: "agent", 3: "support", 4: "client", 5: "viewer"}

# The product's other user attributes, per demo user: the portal page opened
# after login, the default modules, the carrier of a client user (client_id),
# its recorded login addresses. Unlisted attributes keep their empty defaults.
DEMO_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "admin": {
        "landing_page": "/dashboard",
        "default_mod": "Dashboard",
        "default_mod2": "Routing",
        "report_group": True,
        "all_termination": True,
        "avatar_id": 1,
    },
    "agent1": {"landing_page": "/agent/clients", "default_mod": "Agent", "reseller_id": 1, "avatar_id": 2},
    "agent2": {"landing_page": "/agent/clients", "default_mod": "Agent", "reseller_id": 1},
    "client1": {
        "landing_page": "/client/summary",
        "default_mod": "Client Portal",
        "client_id": 101,
        "card_id": 5001,
        "auth_ip": ["203.0.113.10", "203.0.113.11"],
    },
    "client2": {"landing_page": "/client/summary", "default_mod": "Client Portal", "client_id": 102},
    "viewer1": {"landing_page": "/reports/summary", "default_mod": "Reports", "report_group": True},
}


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
    existing_roles = set(session.scalars(select(Role.role_id)))
    session.add_all(
        Role(role_id=role_id, role_name=name)
        for role_id, name in DEMO_ROLES.items()
        if role_id not in existing_roles
    )
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
                **DEMO_ATTRIBUTES.get(name, {}),
            )
        )
        # One flush per user keeps the ids in the table's order.
        session.flush()
