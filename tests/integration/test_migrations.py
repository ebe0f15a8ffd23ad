"""Migrations apply to an empty database and re-apply as a no-op."""

from __future__ import annotations

import uuid

import psycopg

from connectra.db import migrate
from connectra.local import postgres


def test_migrations_apply_to_an_empty_database_and_reapply_as_a_noop(database_url: str) -> None:
    server = postgres.server_url()
    url = postgres.with_database(server, f"connectra_mig_{uuid.uuid4().hex[:8]}")
    postgres.ensure_database(url)
    try:
        migrate.upgrade(url)
        head = migrate.current_revision(url)
        with psycopg.connect(url) as conn:
            tables_before = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
            filters_before = conn.execute("SELECT count(*) FROM filters").fetchone()
        migrate.upgrade(url)
        with psycopg.connect(url) as conn:
            tables_after = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
            filters_after = conn.execute("SELECT count(*) FROM filters").fetchone()
            extensions = {
                row[0] for row in conn.execute("SELECT extname FROM pg_extension").fetchall()
            }
        assert head is not None
        assert migrate.current_revision(url) == head
        assert tables_before == tables_after
        assert filters_before == filters_after
        assert filters_after is not None and filters_after[0] > 0
        assert {"pg_trgm", "fuzzystrmatch", "unaccent"} <= extensions
    finally:
        with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_the_filter_catalogue_names_only_known_fields(conn: psycopg.Connection) -> None:
    from connectra.models.fields import FIELDS_BY_ENTITY, Entity

    rows = conn.execute("SELECT service, key FROM filters").fetchall()
    unknown = [
        (row["service"], row["key"])
        for row in rows
        if row["key"] not in FIELDS_BY_ENTITY[Entity(row["service"])]
    ]
    assert unknown == []
