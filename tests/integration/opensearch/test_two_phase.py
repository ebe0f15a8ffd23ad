"""The OpenSearch engine's two-phase search through the fake transport and real PostgreSQL:
ids from the (fake) cluster, rows from PostgreSQL in the cluster's order, projection,
populated companies, cursors, counts, health and errors — over every conformance case."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import requests

from connectra.errors import DependencyUnavailable
from connectra.models.fields import Entity
from connectra.search.engine import CountResult, SearchPage
from connectra.search.opensearch import OpenSearchEngine, create_client
from connectra.search.postgres import PostgresSearchEngine
from connectra.settings import Settings
from connectra.vql.parse import parse_request
from tests.integration.opensearch.conftest import SECRET, engine_settings
from tests.integration.search.cases import CASES
from tests.integration.search.fixture import short_id_of, uuid_of
from tests.unit.opensearch.fake_cluster import FakeCluster


def run(
    engine: OpenSearchEngine, conn: psycopg.Connection[Any], entity: str, vql: dict[str, Any]
) -> SearchPage:
    query = parse_request(vql, Entity(entity), cursor_secret=SECRET)
    return engine.search(conn, Entity(entity), query)


def ids(page: SearchPage) -> list[str]:
    return [short_id_of(row["uuid"]) for row in page.data]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_through_both_phases(
    engine: OpenSearchEngine,
    fixture_conn: psycopg.Connection[Any],
    case: dict[str, Any],
) -> None:
    page = run(engine, fixture_conn, case["entity"], case["vql"])

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
def test_cursor_walks_the_whole_result(
    engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    vql = {**case["vql"], "limit": case["walk"]}
    seen: list[str] = []
    for _ in range(50):
        page = run(engine, fixture_conn, case["entity"], vql)
        seen.extend(ids(page))
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    assert seen == case["expected"]


def test_phase_one_asks_for_ids_only_and_one_extra_hit(
    engine: OpenSearchEngine, indexed_cluster: FakeCluster, fixture_conn: psycopg.Connection[Any]
) -> None:
    before = len(indexed_cluster.requests)
    run(engine, fixture_conn, "contacts", {"limit": 3, "select_columns": ["email"]})

    (request,) = indexed_cluster.requests[before:]
    assert (request.method, request.path) == ("POST", "/test-contacts/_search")
    sent = request.json()
    assert sent["_source"] is False and sent["size"] == 4


def test_rows_deleted_since_indexing_are_skipped_but_paging_continues(
    engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any]
) -> None:
    vql: dict[str, Any] = {
        "where": {"keyword_match": {"must": {"seniority": "senior"}}},
        "limit": 3,
    }
    fixture_conn.execute(
        "UPDATE contacts SET deleted_at = now() WHERE uuid = %s", (uuid_of("ct06"),)
    )
    try:
        first = run(engine, fixture_conn, "contacts", vql)
        second = run(engine, fixture_conn, "contacts", {**vql, "search_after": first.next_cursor})
    finally:
        fixture_conn.rollback()

    assert ids(first) == ["ct01", "ct07"]  # ct06 is still in the index, not in PostgreSQL
    assert ids(second) == ["ct09", "ct14", "ct16"]


def test_count_reads_the_total(
    engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any]
) -> None:
    query = parse_request(
        {"where": {"keyword_match": {"must": {"departments": "engineering"}}}, "limit": 2},
        Entity.CONTACTS,
        cursor_secret=SECRET,
    )
    assert engine.count(fixture_conn, Entity.CONTACTS, query) == 18  # ct26-ct29 and ct31 among them


def test_a_bounded_count_says_gte_past_the_bound_as_postgres_does(
    engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any]
) -> None:
    query = parse_request(
        {"where": {"keyword_match": {"must": {"departments": "engineering"}}}},
        Entity.CONTACTS,
        cursor_secret=SECRET,
    )
    postgres = PostgresSearchEngine(cursor_secret=SECRET)
    for up_to in (None, 5, 12, 13, 20):
        found = engine.count_up_to(fixture_conn, Entity.CONTACTS, query, up_to)
        assert found == postgres.count_up_to(fixture_conn, Entity.CONTACTS, query, up_to)
    assert engine.count_up_to(fixture_conn, Entity.CONTACTS, query, 5) == CountResult(
        count=5, relation="gte"
    )


def test_health_reports_cluster_and_indices(indexed_cluster: FakeCluster) -> None:
    healthy = OpenSearchEngine(engine_settings(), client=indexed_cluster.client()).health()
    assert healthy == {
        "ok": True,
        "backend": "opensearch",
        "cluster_status": "green",
        "indices": {"contacts": True, "companies": True},
    }
    empty = OpenSearchEngine(engine_settings(), client=FakeCluster().client()).health()
    assert empty["ok"] is False and empty["indices"] == {"contacts": False, "companies": False}


def test_an_unreachable_cluster_is_a_503_not_a_crash(
    fixture_conn: psycopg.Connection[Any],
) -> None:
    cluster = FakeCluster()
    cluster.down = True
    engine = OpenSearchEngine(engine_settings(), client=cluster.client())
    query = parse_request({}, Entity.CONTACTS, cursor_secret=SECRET)

    with pytest.raises(DependencyUnavailable):
        engine.search(fixture_conn, Entity.CONTACTS, query)
    assert engine.health() == {"ok": False, "backend": "opensearch", "error": "ConnectionError"}


def test_a_missing_index_says_to_reindex(fixture_conn: psycopg.Connection[Any]) -> None:
    engine = OpenSearchEngine(engine_settings(), client=FakeCluster().client())
    query = parse_request({}, Entity.COMPANIES, cursor_secret=SECRET)
    with pytest.raises(DependencyUnavailable, match="reindex"):
        engine.count(fixture_conn, Entity.COMPANIES, query)


# -- the client factory ------------------------------------------------------------------


def client_settings(**values: Any) -> Settings:
    return Settings(opensearch_url="https://search.example.com:443", **values)


def test_sigv4_client_signs_for_the_es_service() -> None:
    from opensearchpy import AWSV4SignerAuth, RequestsHttpConnection

    client = create_client(client_settings(opensearch_auth="sigv4", aws_region="eu-west-1"))
    connection = client.transport.get_connection()
    assert isinstance(connection, RequestsHttpConnection)
    auth = connection.session.auth
    assert isinstance(auth, AWSV4SignerAuth)
    signed = auth(requests.Request("GET", "https://search.example.com/_cluster/health").prepare())
    assert "/eu-west-1/es/aws4_request" in signed.headers["Authorization"]
    assert connection.use_ssl is True
    assert client.transport.max_retries == 2 and client.transport.retry_on_timeout is True
    assert connection.timeout == 10.0


def test_basic_auth_and_no_auth_clients() -> None:
    basic = create_client(
        client_settings(
            opensearch_auth="basic", opensearch_username="admin", opensearch_password="pw"
        )
    )
    header = basic.transport.get_connection().headers["authorization"]
    assert header == "Basic YWRtaW46cHc="  # admin:pw
    anonymous = create_client(client_settings(opensearch_auth="none"))
    assert "authorization" not in anonymous.transport.get_connection().headers
    with pytest.raises(DependencyUnavailable):
        create_client(Settings(opensearch_url=None))
