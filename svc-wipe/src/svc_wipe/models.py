"""svc-wipe tables."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of svc-wipe's own database."""
