"""Aggregation conformance on the PostgreSQL engine: every case of aggregation_cases.py
equals the reference evaluator (and the hand-pinned answer where the case has one)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.aggregation_evaluate import aggregate
from connectra.vql.aggregation_request import parse_aggregate_payload
from tests.integration.search.aggregation_cases import AGGREGATION_CASES
from tests.integration.search.fixture import COMPANIES, COMPANIES_BY_UUID, CONTACTS

ENGINE = PostgresSearchEngine(cursor_secret="aggregation-conformance")


def reference(entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    rows = CONTACTS if entity is Entity.CONTACTS else COMPANIES
    return aggregate(parse_aggregate_payload(body, entity), rows, COMPANIES_BY_UUID)


@pytest.mark.parametrize("case", AGGREGATION_CASES, ids=[c["name"] for c in AGGREGATION_CASES])
def test_postgres_aggregates_as_the_reference(
    fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    entity = Entity(case["entity"])
    query = parse_aggregate_payload(case["body"], entity)

    found = ENGINE.aggregate(fixture_conn, query).model_dump(exclude={"cached"})

    assert found == reference(entity, case["body"])
    if "expected" in case:
        assert found == case["expected"]
