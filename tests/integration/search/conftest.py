"""The conformance fixture loaded once per module into the session database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from tests.conftest import DATA_TABLES
from tests.integration.search.fixture import COMPANIES, CONTACTS


def insert_rows(conn: psycopg.Connection[Any], table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder(column) for column in columns),
    )
    conn.cursor().executemany(statement, rows)


@pytest.fixture(scope="module")
def fixture_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the session database holding exactly the conformance fixture."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
        insert_rows(conn, "companies", COMPANIES)
        insert_rows(conn, "contacts", CONTACTS)
        conn.commit()
        yield conn
