"""`OpenSearchEngine.aggregate` end to end: the fixture indexed the production way
(`reindex` from PostgreSQL) into the fake cluster, and on a REAL cluster when
OPENSEARCH_URL is set; every aggregation case equals the reference evaluator."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.errors import DependencyUnavailable
from connectra.models.fields import Entity
from connectra.search.opensearch import OpenSearchEngine
from connectra.vql.aggregation_evaluate import aggregate
from connectra.vql.aggregation_request import parse_aggregate_payload
from tests.integration.opensearch.test_conformance_cluster import real_engine  # noqa: F401
from tests.integration.search.aggregation_cases import AGGREGATION_CASES
from tests.integration.search.fixture import COMPANIES, COMPANIES_BY_UUID, CONTACTS
from tests.unit.opensearch.fake_cluster import FakeCluster

IDS = [case["name"] for case in AGGREGATION_CASES]


def reference(entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    rows = CONTACTS if entity is Entity.CONTACTS else COMPANIES
    return aggregate(parse_aggregate_payload(body, entity), rows, COMPANIES_BY_UUID)


def run(engine: OpenSearchEngine, conn: psycopg.Connection[Any], case: dict[str, Any]) -> Any:
    entity = Entity(case["entity"])
    query = parse_aggregate_payload(case["body"], entity)
    return engine.aggregate(conn, query).model_dump(exclude={"cached"})


@pytest.mark.parametrize("case", AGGREGATION_CASES, ids=IDS)
def test_engine_aggregates_as_the_reference(
    engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    assert run(engine, fixture_conn, case) == reference(Entity(case["entity"]), case["body"])


def test_requests_go_to_the_entity_alias_with_size_zero(
    engine: OpenSearchEngine, indexed_cluster: FakeCluster, fixture_conn: psycopg.Connection[Any]
) -> None:
    before = len(indexed_cluster.requests)

    run(engine, fixture_conn, AGGREGATION_CASES[0])

    sent = indexed_cluster.requests[before:]
    assert [request.path.rsplit("/", 1)[-1] for request in sent] == ["_search"]
    assert sent[0].json()["size"] == 0


def test_a_cluster_that_is_down_is_a_503_not_a_500(
    engine: OpenSearchEngine, indexed_cluster: FakeCluster, fixture_conn: psycopg.Connection[Any]
) -> None:
    indexed_cluster.down = True
    try:
        with pytest.raises(DependencyUnavailable):
            run(engine, fixture_conn, AGGREGATION_CASES[0])
    finally:
        indexed_cluster.down = False


@pytest.mark.opensearch
@pytest.mark.parametrize("case", AGGREGATION_CASES, ids=IDS)
def test_case_on_a_real_cluster(
    real_engine: OpenSearchEngine,  # noqa: F811
    fixture_conn: psycopg.Connection[Any],
    case: dict[str, Any],
) -> None:
    assert run(real_engine, fixture_conn, case) == reference(Entity(case["entity"]), case["body"])
