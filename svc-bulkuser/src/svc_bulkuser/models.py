"""svc-bulkuser tables."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of svc-bulkuser's own database."""
