"""Databases left at an older revision, for the tests of what a migration does to existing rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from vendorkit.db import make_engine
from vendorkit.migrations import alembic_config


@contextlib.contextmanager
def sqlite_at_revision(package: str, revision: str, path: Path) -> Iterator[tuple[Config, Engine]]:
    """A SQLite file at ``path`` migrated to ``revision`` of ``package``: its alembic config and an engine on it.

    The test writes the rows an older release would have, then moves the file
    on with ``command.upgrade(config, ...)`` (or back with ``downgrade``).
    """
    url = f"sqlite:///{path}"
    config = alembic_config(package, url)
    command.upgrade(config, revision)
    engine = make_engine(url)
    try:
        yield config, engine
    finally:
        engine.dispose()
