"""Alembic migrations per service, run at start under a cross-process lock.

Each service keeps its scripts in ``<package>/migrations`` with an ``env.py`` of
two lines that calls ``run_env(metadata)``. ``python -m vendorkit.migrations
<package> <alembic command> ...`` runs alembic's CLI for one service.
"""

from __future__ import annotations

import os
import sys

from alembic import command
from alembic.config import CommandLine, Config
from sqlalchemy import Engine, MetaData

from vendorkit.admin import include_in_migrations
from vendorkit.db import is_sqlite, make_engine


def alembic_config(package: str, url: str | None = None) -> Config:
    """An alembic Config for ``package``'s scripts."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, package: str) -> None:
    """Bring ``engine``'s database to the newest revision of ``package``."""
    config = alembic_config(package)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
        engine = make_engine(url)
        with engine.begin() as connection:
            _configure_and_run(context, connection, metadata)
        engine.dispose()
    else:
        _configure_and_run(context, connection, metadata)


def _configure_and_run(context, connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite(connection.engine),
        compare_type=True,
        include_name=include_in_migrations,
    )
    context.run_migrations()


def main(argv: list[str] | None = None) -> None:
    """``python -m vendorkit.migrations svc_wipe revision --autogenerate -m "..."``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: python -m vendorkit.migrations <package> <alembic arguments>")
    package = argv.pop(0)
    cli = CommandLine(prog=f"migrations {package}")
    options = cli.parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", f"sqlite:///var/{package.replace('_', '-')}.db")
    cli.run_cmd(alembic_config(package, url), options)


if __name__ == "__main__":
    main()
