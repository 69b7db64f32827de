"""svc-offboard tables."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of svc-offboard's own database."""
