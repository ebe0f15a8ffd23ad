"""PostgreSQL holding the conformance fixture, and a fake cluster indexed from it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from connectra.models.fields import Entity
from connectra.search.indexing import BulkIndexer, reindex
from connectra.search.opensearch import OpenSearchEngine
from connectra.settings import Settings
from tests.conftest import DATA_TABLES
from tests.integration.search.conftest import insert_rows
from tests.integration.search.fixture import COMPANIES, CONTACTS
from tests.unit.opensearch.fake_cluster import FakeCluster

PREFIX = "test"
SECRET = "opensearch-conformance"


def engine_settings() -> Settings:
    return Settings(
        search_backend="opensearch",
        opensearch_url="http://fake-cluster:9200",
        opensearch_index_prefix=PREFIX,
        cursor_secret=SECRET,
    )


@pytest.fixture(scope="module")
def fixture_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
        insert_rows(conn, "companies", COMPANIES)
        insert_rows(conn, "contacts", CONTACTS)
        conn.commit()
        yield conn


@pytest.fixture(scope="module")
def indexed_cluster(fixture_conn: psycopg.Connection[Any]) -> FakeCluster:
    """The fixture indexed the production way: `reindex` from PostgreSQL."""
    cluster = FakeCluster()
    indexer = BulkIndexer(cluster.client(), PREFIX, sleep=lambda _: None)
    for entity in Entity:
        result = reindex(fixture_conn, indexer, entity)
        assert result.failed == {}
    fixture_conn.execute("DELETE FROM search_outbox")
    fixture_conn.commit()
    return cluster


@pytest.fixture(scope="module")
def engine(indexed_cluster: FakeCluster) -> OpenSearchEngine:
    return OpenSearchEngine(engine_settings(), client=indexed_cluster.client())
