"""The VQL conformance suite against the PostgreSQL engine (cases.py, fixture.py)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.search.engine import SearchPage
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.parse import parse_request
from tests.integration.search.cases import CASES
from tests.integration.search.fixture import short_id_of

SECRET = "conformance-secret"
ENGINE = PostgresSearchEngine(cursor_secret=SECRET)


def run(conn: psycopg.Connection[Any], entity: str, vql: dict[str, Any]) -> SearchPage:
    query = parse_request(vql, Entity(entity), cursor_secret=SECRET)
    return ENGINE.search(conn, Entity(entity), query)


def ids(page: SearchPage) -> list[str]:
    return [short_id_of(row["uuid"]) for row in page.data]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_returns_the_expected_records_in_order(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    page = run(fixture_conn, case["entity"], case["vql"])

    assert ids(page) == case["expected"]
    if "columns" in case:
        assert all(list(row) == case["columns"] for row in page.data)
    for contact, company in case.get("companies", {}).items():
        row = next(row for row in page.data if short_id_of(row["uuid"]) == contact)
        found = row["company"]
        assert (short_id_of(found["uuid"]) if found else None) == company
        if found and "company_columns" in case:
            assert list(found) == case["company_columns"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if "walk" in c], ids=[c["name"] for c in CASES if "walk" in c]
)
def test_search_after_walks_the_whole_result_without_gaps_or_repeats(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    vql = {**case["vql"], "limit": case["walk"]}
    seen: list[str] = []
    pages = 0
    while True:
        page = run(fixture_conn, case["entity"], vql)
        pages += 1
        seen.extend(ids(page))
        assert len(page.data) <= case["walk"]
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
        assert pages <= len(case["expected"])  # a cursor that never ends is a bug

    assert seen == case["expected"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_count_agrees_with_the_search(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    vql = {key: value for key, value in case["vql"].items() if key not in ("page", "limit")}
    query = parse_request(vql, Entity(case["entity"]), cursor_secret=SECRET)
    expected = len(run(fixture_conn, case["entity"], {**vql, "limit": 100}).data)

    assert ENGINE.count(fixture_conn, Entity(case["entity"]), query) == expected
