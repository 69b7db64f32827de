"""svc-agenda tables."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of svc-agenda's own database."""
