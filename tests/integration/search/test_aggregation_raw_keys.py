"""Terms keys are grouped on the raw values and normalized once per distinct value
(`connectra.vql.aggregation_sql`): values that differ only in case or surrounding
whitespace must still be one bucket, and blank values must count as missing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from connectra.models.fields import Entity
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.aggregation_evaluate import aggregate
from connectra.vql.aggregation_request import parse_aggregate_payload
from tests.conftest import DATA_TABLES
from tests.integration.search.conftest import insert_rows

ENGINE = PostgresSearchEngine(cursor_secret="raw-keys")
SENIORITIES = [" VP", "vp", "Vp\t", "VP \n", "  ", "", None, "Lead", "lead ", "owner"]


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[tuple[psycopg.Connection[Any], list[dict[str, Any]]]]:
    contacts: list[dict[str, Any]] = [
        {"uuid": uuid.uuid4(), "seniority": value, "departments": [], "city": "Berlin"}
        for value in SENIORITIES
    ]
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
        insert_rows(conn, "contacts", contacts)
        conn.commit()
        stored = conn.execute("SELECT * FROM contacts").fetchall()
        yield conn, stored


def test_keys_differing_in_case_and_whitespace_are_one_bucket(
    rows: tuple[psycopg.Connection[Any], list[dict[str, Any]]],
) -> None:
    conn, stored = rows
    body = {
        "where": {"keyword_match": {"must": {"city": "berlin"}}},
        "aggregations": [
            {"name": "s", "type": "terms", "field": "seniority", "size": 2},
            {"name": "m", "type": "date_histogram", "field": "created_at", "interval": "year"},
        ],
    }
    query = parse_aggregate_payload(body, Entity.CONTACTS)

    found = ENGINE.aggregate(conn, query)
    conn.rollback()

    assert found.total == len(SENIORITIES)
    answer = found.model_dump(exclude={"cached"})
    assert answer["aggregations"]["s"] == {
        "buckets": [{"key": "vp", "count": 4}, {"key": "lead", "count": 2}],
        "other_count": 1,
        "missing_count": 3,
    }
    assert answer == aggregate(query, stored)
