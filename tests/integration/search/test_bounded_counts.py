"""Bounded counts on the PostgreSQL engine: exact up to the bound, "gte" beyond, for
every conformance case (the OpenSearch twin is in tests/integration/opensearch)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.search.engine import CountResult
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.parse import parse_request
from tests.integration.search.cases import CASES

SECRET = "bounded-count-test"
ENGINE = PostgresSearchEngine(cursor_secret=SECRET)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_count_is_exact_up_to_the_bound_and_gte_beyond(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    entity = Entity(case["entity"])
    vql = {k: v for k, v in case["vql"].items() if k not in ("page", "limit", "search_after")}
    query = parse_request(vql, entity, cursor_secret=SECRET)
    total = ENGINE.count(fixture_conn, entity, query)

    def bounded(up_to: int | None) -> CountResult:
        return ENGINE.count_up_to(fixture_conn, entity, query, up_to)

    assert bounded(None) == CountResult(count=total, relation="eq")
    assert bounded(total) == CountResult(count=total, relation="eq")
    assert bounded(total + 5) == CountResult(count=total, relation="eq")
    if total > 0:
        assert bounded(total - 1) == CountResult(count=total - 1, relation="gte")
        assert bounded(0) == CountResult(count=0, relation="gte")
