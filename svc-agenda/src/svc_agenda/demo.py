"""svc-agenda demo data, loaded idempotently when DEMO_DATA=1."""

from typing import Any

from sqlalchemy.orm import Session


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
