"""Search structures per backend (db/search_structures.py): the migration builds the
backend's set, the online switch goes both ways and is idempotent, the trigger keeps the
search columns equal to connectra_fold / connectra_words, and `rebuild` recomputes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from psycopg.rows import dict_row
from typer.testing import CliRunner

from connectra.cli.main import app
from connectra.db import migrate, search_structures
from connectra.local import postgres
from connectra.settings import get_settings

runner = CliRunner()
TABLE_KEYS = {
    "contacts": {"contacts_pkey", "contacts_email_key", "contacts_company_id_idx"},
    "companies": {"companies_pkey", "companies_normalized_domain_key"},
}


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    """A database of its own: switching structures must not disturb the session database."""
    server = postgres.server_url()
    name = f"connectra_structures_{uuid.uuid4().hex[:8]}"
    url = postgres.with_database(server, name)
    postgres.ensure_database(url)
    try:
        yield url
    finally:
        with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, row_factory=dict_row, autocommit=True)


def _indexes(conn: psycopg.Connection[Any], table: str) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
    return {row["indexname"] for row in rows.fetchall()}


def _columns(conn: psycopg.Connection[Any], table: str) -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
    )
    return {row["column_name"] for row in rows.fetchall()}


def _insert_contacts(conn: psycopg.Connection[Any], titles: list[str]) -> None:
    for index, title in enumerate(titles):
        conn.execute(
            "INSERT INTO contacts (uuid, first_name, last_name, email, title) "
            "VALUES (%s, 'Zoë', 'Müller', %s, %s)",
            (uuid.uuid4(), f"z{index}.{uuid.uuid4().hex[:8]}@example.com", title),
        )


def _columns_match_functions(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT bool_and(vql_title_folded IS NOT DISTINCT FROM connectra_fold(title) "
        "AND vql_title_words IS NOT DISTINCT FROM connectra_words(title) "
        "AND vql_first_name_folded IS NOT DISTINCT FROM connectra_fold(first_name)) AS ok "
        "FROM contacts"
    ).fetchone()
    return bool(row and row["ok"])


def test_the_migration_builds_the_set_of_the_configured_backend(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_BACKEND", "opensearch")
    get_settings.cache_clear()
    try:
        migrate.upgrade(scratch_url)
    finally:
        monkeypatch.delenv("SEARCH_BACKEND")
        get_settings.cache_clear()
    with _connect(scratch_url) as conn:
        assert search_structures.status(conn) == {
            "set": "keys",
            "missing": [],
            "extra": [],
            "stale": [],
        }
        for table, keys in TABLE_KEYS.items():
            assert _indexes(conn, table) == keys
            assert not {c for c in _columns(conn, table) if c.startswith("vql_")}


def test_the_switch_goes_both_ways_online_and_is_idempotent(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        assert search_structures.status(conn)["set"] == "postgres"
        _insert_contacts(conn, ["Senior Software Engineer", "Señor Ingeniero"])

        assert search_structures.apply(conn, "opensearch")["set"] == "keys"
        assert search_structures.apply(conn, "opensearch")["set"] == "keys"
        assert _indexes(conn, "contacts") == TABLE_KEYS["contacts"]
        _insert_contacts(conn, ["Data Scientist"])  # writes work without the set

        assert search_structures.apply(conn, "postgres")["set"] == "postgres"
        assert search_structures.apply(conn, "postgres")["set"] == "postgres"
        assert {i.name for i in search_structures.INDEXES if i.table == "contacts"} <= (
            _indexes(conn, "contacts")
        )
        assert _columns_match_functions(conn)  # filled for the rows written in between


def test_an_interrupted_concurrent_build_is_finished_by_running_the_switch_again(
    scratch_url: str,
) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        search_structures.apply(conn, "opensearch")
        _insert_contacts(conn, ["Engineer", "Engineer"])
        conn.execute("ALTER TABLE contacts ADD COLUMN IF NOT EXISTS vql_title_folded text")
        conn.execute("UPDATE contacts SET vql_title_folded = title")
        # A unique index on duplicate values fails its concurrent build: left INVALID.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY vql_contacts_title_folded_trgm "
                "ON contacts (vql_title_folded)"
            )
        assert search_structures.status(conn)["set"] == "partial"
        assert search_structures.apply(conn, "postgres")["set"] == "postgres"
        assert _columns_match_functions(conn)


def test_an_index_of_an_earlier_definition_is_rebuilt_online_by_the_switch(
    scratch_url: str,
) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        _insert_contacts(conn, ["Engineer"])
        assert search_structures.status(conn, definitions=True)["set"] == "postgres"
        # Same names, other definitions: another column; the predicate of an earlier design.
        conn.execute("DROP INDEX vql_contacts_city_lower, vql_contacts_title_cjk")
        conn.execute("CREATE INDEX vql_contacts_city_lower ON contacts (lower(state))")
        conn.execute(
            "CREATE INDEX vql_contacts_title_cjk ON contacts (uuid) "
            "WHERE vql_title_folded ~ '[一-龥]'"
        )
        assert search_structures.status(conn)["set"] == "postgres"  # names only: cheap
        found = search_structures.status(conn, definitions=True)
        assert found["set"] == "partial"
        assert found["stale"] == ["vql_contacts_title_cjk", "vql_contacts_city_lower"]
        messages: list[str] = []
        assert search_structures.apply(conn, "postgres", log=messages.append)["set"] == "postgres"
        assert messages == [
            "rebuilding vql_contacts_title_cjk (its definition changed)",
            "rebuilding vql_contacts_city_lower (its definition changed)",
        ]
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'vql_contacts_city_lower'"
        ).fetchone()
        assert row is not None and "lower(city)" in row["indexdef"]
        messages.clear()
        search_structures.apply(conn, "postgres", log=messages.append)
        assert messages == []  # nothing left to rebuild


WORD_START_MATCH = (
    "SELECT count(*) AS n FROM companies WHERE deleted_at IS NULL "
    "AND connectra_word_start_grams(vql_name_folded) @> ARRAY[%s]"
)


def _companies_found_by_word_start_index(conn: psycopg.Connection[Any], term: str) -> int:
    """Companies whose word-start grams hold `term`, as the word-start GIN answers."""
    plan = conn.execute("EXPLAIN " + WORD_START_MATCH, (term,)).fetchall()
    assert "Bitmap Index Scan on vql_companies_name_word_starts" in str(plan)
    row = conn.execute(WORD_START_MATCH, (term,)).fetchone()
    assert row is not None
    return int(row["n"])


def test_an_index_built_with_an_earlier_body_of_its_function_is_rebuilt_by_the_switch(
    scratch_url: str,
) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        conn.execute(
            "INSERT INTO companies (uuid, name) VALUES (%s, 'Acme Robotics')", (uuid.uuid4(),)
        )
        conn.execute(
            "INSERT INTO companies (uuid, name) "
            "SELECT gen_random_uuid(), 'Company ' || n FROM generate_series(1, 500) AS n"
        )
        conn.execute("ANALYZE companies")  # a selective term: the planner reads the GIN
        assert search_structures.status(conn, definitions=True)["set"] == "postgres"
        # An earlier release's body built the index (same name, same printed definition).
        conn.execute(
            "CREATE OR REPLACE FUNCTION connectra_word_start_grams(folded text) RETURNS text[] "
            "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT ARRAY['zz'] $$"
        )
        conn.execute("REINDEX INDEX vql_companies_name_word_starts")
        conn.execute("COMMENT ON FUNCTION connectra_word_start_grams(text) IS 'built with body 0'")
        conn.execute(search_structures.WORD_START_GRAMS_FUNCTION)  # this release's body
        assert _companies_found_by_word_start_index(conn, "ro") == 0  # the stale index misses
        found = search_structures.status(conn, definitions=True)
        assert (found["set"], found["stale"]) == ("partial", ["vql_companies_name_word_starts"])
        messages: list[str] = []
        assert search_structures.apply(conn, "postgres", log=messages.append)["set"] == "postgres"
        assert messages == ["rebuilding vql_companies_name_word_starts (its definition changed)"]
        assert _companies_found_by_word_start_index(conn, "ro") == 1
        messages.clear()
        search_structures.apply(conn, "postgres", log=messages.append)
        assert messages == []  # marked: nothing left to rebuild


def test_the_trigger_keeps_the_columns_and_rebuild_recomputes_them(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        _insert_contacts(conn, ["Head of Product"])
        conn.execute("UPDATE contacts SET title = 'Chief Executive Officer'")
        assert _columns_match_functions(conn)
        row = conn.execute("SELECT vql_title_words FROM contacts").fetchone()
        assert row == {"vql_title_words": ["chief", "executive", "officer"]}
        # As if connectra_fold had changed since the columns were computed:
        conn.execute("UPDATE contacts SET vql_title_folded = 'stale', vql_title_words = '{}'")
        assert not _columns_match_functions(conn)
        assert search_structures.rebuild(conn)["set"] == "postgres"
        assert _columns_match_functions(conn)


def test_a_missing_trigger_or_unfilled_column_is_partial_and_the_switch_repairs_it(
    scratch_url: str,
) -> None:
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        conn.execute("DROP TRIGGER connectra_search_columns ON contacts")
        _insert_contacts(conn, ["Staff Engineer"])  # written without the trigger: NULLs
        found = search_structures.status(conn)
        assert found["set"] == "partial"
        assert found["missing"] == ["contacts.connectra_search_columns"]
        assert search_structures.apply(conn, "postgres")["set"] == "postgres"
        assert _columns_match_functions(conn)


def test_the_migration_downgrades_to_the_generated_columns_of_0004(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    command.downgrade(migrate.alembic_config(scratch_url), "0004")
    with _connect(scratch_url) as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'contacts' "
            "AND column_name LIKE 'vql%%' AND is_generated = 'ALWAYS'"
        ).fetchone()
        assert row == {"n": 8}
        assert "vql_contacts_title_words_gin" in _indexes(conn, "contacts")
    migrate.upgrade(scratch_url)
    with _connect(scratch_url) as conn:
        assert search_structures.status(conn)["set"] == "postgres"


def test_the_cli_shows_the_set_and_fails_when_it_is_not_the_backends(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(scratch_url)
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    get_settings.cache_clear()
    try:
        shown = runner.invoke(app, ["search-structures"])
        wrong = runner.invoke(app, ["search-structures", "--backend", "opensearch"])
        switched = runner.invoke(app, ["search-structures", "--apply", "--backend", "opensearch"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert shown.exit_code == 0 and '"set": "postgres"' in shown.output
    assert wrong.exit_code == 1 and '"expected": "keys"' in wrong.output
    assert switched.exit_code == 0 and '"set": "keys"' in switched.output
