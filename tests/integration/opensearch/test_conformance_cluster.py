"""The VQL conformance suite on a REAL OpenSearch cluster (skipped without OPENSEARCH_URL).

    OPENSEARCH_URL=http://localhost:9200 .venv/bin/pytest tests/integration/opensearch -m opensearch

Auth follows the usual settings (OPENSEARCH_AUTH=none|basic|sigv4, OPENSEARCH_USERNAME, …);
so do OPENSEARCH_SHARDS / OPENSEARCH_REPLICAS (a single-node cluster needs
OPENSEARCH_REPLICAS=0: a rebuild waits for its index to be green).
Indices get a throw-away prefix, are built with `reindex` from the PostgreSQL fixture,
refreshed, searched through `OpenSearchEngine` (both phases), and deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.search.engine import SearchPage
from connectra.search.indexing import indexer_from_settings, reindex
from connectra.search.opensearch import OpenSearchEngine, create_client
from connectra.settings import Settings
from connectra.vql.parse import parse_request
from tests.integration.opensearch.conftest import SECRET
from tests.integration.search.cases import CASES
from tests.integration.search.fixture import short_id_of

pytestmark = pytest.mark.opensearch

SKIP_REASON = (
    "OPENSEARCH_URL not set: the conformance cases ran against the fake transport only "
    "(test_two_phase.py); set OPENSEARCH_URL to run them on a real cluster"
)


@pytest.fixture(scope="module")
def real_engine(fixture_conn: psycopg.Connection[Any]) -> Iterator[OpenSearchEngine]:
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip(SKIP_REASON)
    prefix = f"conformance-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        search_backend="opensearch",
        opensearch_url=url,
        opensearch_index_prefix=prefix,
        cursor_secret=SECRET,
    )
    client = create_client(settings)
    indexer = indexer_from_settings(settings, client)
    assert indexer is not None
    try:
        for entity in Entity:
            assert reindex(fixture_conn, indexer, entity).failed == {}
            indexer.refresh(entity)
        fixture_conn.execute("DELETE FROM search_outbox")
        fixture_conn.commit()
        yield OpenSearchEngine(settings, client=client)
    finally:
        client.indices.delete(index=f"{prefix}-*", ignore=[404])


def run(
    engine: OpenSearchEngine, conn: psycopg.Connection[Any], entity: str, vql: dict[str, Any]
) -> SearchPage:
    return engine.search(
        conn, Entity(entity), parse_request(vql, Entity(entity), cursor_secret=SECRET)
    )


def ids(page: SearchPage) -> list[str]:
    return [short_id_of(row["uuid"]) for row in page.data]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_on_a_real_cluster(
    real_engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    page = run(real_engine, fixture_conn, case["entity"], case["vql"])
    assert ids(page) == case["expected"]
    for contact, company in case.get("companies", {}).items():
        row = next(row for row in page.data if short_id_of(row["uuid"]) == contact)
        assert (short_id_of(row["company"]["uuid"]) if row["company"] else None) == company


@pytest.mark.parametrize(
    "case", [c for c in CASES if "walk" in c], ids=[c["name"] for c in CASES if "walk" in c]
)
def test_cursor_walk_on_a_real_cluster(
    real_engine: OpenSearchEngine, fixture_conn: psycopg.Connection[Any], case: dict[str, Any]
) -> None:
    vql = {**case["vql"], "limit": case["walk"]}
    seen: list[str] = []
    for _ in range(50):
        page = run(real_engine, fixture_conn, case["entity"], vql)
        seen.extend(ids(page))
        if page.next_cursor is None:
            break
        vql = {**vql, "search_after": page.next_cursor}
    assert seen == case["expected"]
