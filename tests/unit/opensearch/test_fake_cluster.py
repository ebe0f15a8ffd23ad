"""The fake cluster behaves as OpenSearch does where the adapter's correctness depends on it
(issue 18 item 7): each test here failed on the earlier fake, which lower-cased with Python,
had no clause limit or max_expansions, refused writes to a missing name instead of
auto-creating an index, wrote through a two-index alias, made writes searchable without a
refresh, ignored max_result_window and the search_after length, and modelled no
timeouts, 413s or whole-request 429s."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy.exceptions import ConnectionTimeout, RequestError, TransportError

from connectra.models.fields import Entity
from connectra.search.index_model import index_body
from tests.unit.opensearch.fake_cluster import FakeCluster

INDEX = "t-companies-1"
ALIAS = "t-companies"
ID = "a0000000-0000-4000-8000-000000000001"


def company(name: str, doc_id: str = ID) -> dict[str, Any]:
    return {"uuid": doc_id, "name": name, "source_version": "1"}


def with_index(cluster: FakeCluster, alias: bool = True) -> Any:
    client = cluster.client()
    body = index_body(Entity.COMPANIES)
    if alias:
        body["aliases"] = {ALIAS: {}}
    client.indices.create(index=INDEX, body=body)
    return client


def bulk_index(client: Any, target: str, doc: dict[str, Any], **meta: Any) -> dict[str, Any]:
    action = {"index": {"_index": target, "_id": doc["uuid"], **meta}}
    response: dict[str, Any] = client.bulk(body=[action, doc], params={"refresh": "true"})
    return response["items"][0]["index"]


def search_ids(client: Any, query: dict[str, Any], **body: Any) -> list[str]:
    hits = client.search(index=ALIAS, body={"query": query, **body})["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def test_the_lowercase_normalizer_maps_one_code_point_at_a_time() -> None:
    client = with_index(FakeCluster())
    bulk_index(client, ALIAS, company("İSTANBUL ΟΔΟΣ"))

    # Java's Character.toLowerCase: İ → i (Python's lower gives i + U+0307), Σ → σ.
    assert search_ids(client, {"term": {"name.lower": "istanbul οδοσ"}}) == [ID]
    assert search_ids(client, {"term": {"name.lower": "i\u0307stanbul οδος"}}) == []


def test_the_words_analyzer_is_read_from_the_index_settings() -> None:
    client = with_index(FakeCluster())
    bulk_index(client, ALIAS, {**company("x"), "name__text": "東京 иван"})

    assert search_ids(client, {"match_phrase": {"name__text": {"query": "東 京"}}}) == [ID]
    assert search_ids(client, {"match": {"name__text": {"query": "иван"}}}) == [ID]


def fuzzy(term: str, **options: Any) -> dict[str, Any]:
    return {"match": {"name__text": {"query": term, "fuzziness": "AUTO", **options}}}


def test_fuzzy_terms_expand_to_at_most_max_expansions_words() -> None:
    client = with_index(FakeCluster())
    for number, word in enumerate(["salez", "sales", "salea"], start=1):
        doc_id = f"a0000000-0000-4000-8000-{number:012d}"
        bulk_index(client, ALIAS, {**company(word, doc_id), "name__text": word})

    # Closest first, then term order: "sales" (1 edit from "saled"), then "salea"...
    assert len(search_ids(client, fuzzy("saled", max_expansions=1))) == 1
    assert len(search_ids(client, fuzzy("saled", max_expansions=3))) == 3


def test_a_query_over_the_clause_limit_is_refused() -> None:
    cluster = FakeCluster()
    cluster.max_clause_count = 10
    client = with_index(cluster)
    for number in range(12):
        doc_id = f"a0000000-0000-4000-8000-{number:012d}"
        bulk_index(client, ALIAS, {**company("x", doc_id), "name__text": f"word{number:02d}"})

    with pytest.raises(RequestError) as raised:
        search_ids(client, fuzzy("word00", max_expansions=50))

    assert "too_many_nested_clauses" in str(raised.value.info)


def test_a_write_to_a_missing_name_auto_creates_an_index_unless_require_alias() -> None:
    cluster = FakeCluster()
    client = cluster.client()

    refused = client.bulk(
        body=[{"index": {"_index": ALIAS, "_id": ID}}, company("x")],
        params={"require_alias": "true"},
    )["items"][0]["index"]
    assert refused["status"] == 404 and refused["error"]["type"] == "index_not_found_exception"
    assert cluster.indices == {}

    created = bulk_index(client, ALIAS, company("x"))
    assert created["status"] == 201
    assert cluster.indices[ALIAS].mappings == {}  # dynamic: no connectra mappings


def test_a_write_through_an_alias_over_two_indices_is_refused() -> None:
    cluster = FakeCluster()
    client = with_index(cluster)
    body = index_body(Entity.COMPANIES)
    body["aliases"] = {ALIAS: {}}
    client.indices.create(index="t-companies-2", body=body)

    item = bulk_index(client, ALIAS, company("x"))

    assert item["status"] == 400 and "no write index" in item["error"]["reason"]
    assert cluster.documents(ALIAS) == {}


def test_writes_are_searchable_only_after_a_refresh() -> None:
    cluster = FakeCluster()
    client = with_index(cluster)
    client.bulk(body=[{"index": {"_index": ALIAS, "_id": ID}}, company("x")])

    assert search_ids(client, {"match_all": {}}) == []
    assert ID in cluster.documents(ALIAS)  # written, not yet visible
    client.indices.refresh(index=ALIAS)
    assert search_ids(client, {"match_all": {}}) == [ID]


def test_max_result_window_and_search_after_length_are_checked() -> None:
    client = with_index(FakeCluster())
    client.indices.put_settings(index=INDEX, body={"index": {"max_result_window": 100}})

    with pytest.raises(RequestError) as window:
        search_ids(client, {"match_all": {}}, size=60, **{"from": 41})
    with pytest.raises(RequestError) as cursor:
        search_ids(
            client,
            {"match_all": {}},
            sort=[{"name": "asc"}, {"uuid": "asc"}],
            search_after=["x"],
        )

    assert "Result window is too large" in str(window.value.info)
    assert "search_after has 1 value(s) but sort has 2" in str(cursor.value.info)


def test_external_versions_refuse_an_older_write_and_deletes_keep_theirs() -> None:
    cluster = FakeCluster()
    client = with_index(cluster)
    versioned = {"version": 20, "version_type": "external_gte"}
    bulk_index(client, ALIAS, company("new"), **versioned)

    late = bulk_index(client, ALIAS, company("old"), version=10, version_type="external_gte")
    assert late["status"] == 409 and late["error"]["type"] == "version_conflict_engine_exception"
    assert cluster.documents(ALIAS)[ID]["name"] == "new"

    client.bulk(body=[{"delete": {"_index": ALIAS, "_id": ID, **{**versioned, "version": 30}}}])
    after_delete = bulk_index(client, ALIAS, company("old"), **versioned)
    assert after_delete["status"] == 409  # the tombstone remembers version 30


def test_whole_request_failures_and_body_limits_are_modelled() -> None:
    cluster = FakeCluster()
    client = with_index(cluster)
    cluster.request_failures = [429, "timeout"]

    with pytest.raises(TransportError) as busy:
        search_ids(client, {"match_all": {}})
    assert busy.value.status_code == 429
    with pytest.raises(ConnectionTimeout):
        search_ids(client, {"match_all": {}})

    cluster.max_content_length = 100
    with pytest.raises(TransportError) as too_big:
        client.bulk(body=[{"index": {"_index": ALIAS, "_id": ID}}, company("x" * 200)])
    assert too_big.value.status_code == 413


def test_health_is_yellow_when_replicas_cannot_be_allocated() -> None:
    single = FakeCluster(nodes=1)
    with_index(single)  # one replica by default

    health = single.client().cluster.health(index=INDEX, wait_for_status="green", timeout="1s")

    assert (health["status"], health["timed_out"]) == ("yellow", True)
    assert FakeCluster(nodes=2).client().cluster.health()["status"] == "green"
