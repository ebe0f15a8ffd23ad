"""Apply the versioned schema migrations (Alembic) to a database."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlalchemy_url(database_url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", _sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    engine = create_engine(_sqlalchemy_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_configured_database(revision: str = "head") -> str | None:
    """Migrate the database the settings point at (DATABASE_URL, or the RDS secret)."""
    from connectra.db.pool import conninfo_from_settings
    from connectra.settings import get_settings

    url = conninfo_from_settings(get_settings())
    upgrade(url, revision)
    return current_revision(url)


def main(argv: list[str]) -> int:
    revision = upgrade_configured_database(argv[0] if argv else "head")
    print(f"database at revision {revision}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
