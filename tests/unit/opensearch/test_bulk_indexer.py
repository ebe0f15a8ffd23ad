"""BulkIndexer against the fake transport: body bound, per-item retries, permanent errors."""

from __future__ import annotations

from connectra.models.fields import Entity
from connectra.search.index_model import index_body
from connectra.search.indexing import MAX_BULK_BYTES, BulkIndexer, IndexAction
from connectra.settings import MIB
from tests.unit.opensearch.fake_cluster import FakeCluster

INDEX = "t-companies"


def make(cluster: FakeCluster, **options: object) -> tuple[BulkIndexer, list[float]]:
    sleeps: list[float] = []
    client = cluster.client()
    client.indices.create(
        index=f"{INDEX}-1", body={**index_body(Entity.COMPANIES), "aliases": {INDEX: {}}}
    )
    indexer = BulkIndexer(client, "t", sleep=sleeps.append, **options)  # type: ignore[arg-type]
    return indexer, sleeps


def company(number: int, size: int = 10) -> IndexAction:
    doc_id = f"a0000000-0000-4000-8000-{number:012d}"
    document = {"uuid": doc_id, "name": "x" * size, "source_version": "1"}
    return IndexAction("index", INDEX, doc_id, document)


def test_every_request_body_stays_within_max_bytes() -> None:
    cluster = FakeCluster()
    indexer, _ = make(cluster, max_bytes=64 * 1024)

    outcome = indexer.run(company(n, size=2_000) for n in range(300))

    bulks = cluster.of("POST", "/_bulk")
    assert len(bulks) > 5  # 300 × ~2.1 KB cannot fit in one 64 KiB body
    assert all(len(request.body or b"") <= 64 * 1024 for request in bulks)
    assert outcome.acknowledged == 300 and outcome.ok
    assert len(cluster.documents(INDEX)) == 300


def test_max_bytes_is_capped_below_the_aws_limit() -> None:
    indexer, _ = make(FakeCluster(), max_bytes=50 * MIB)
    assert indexer.max_bytes == MAX_BULK_BYTES == 9 * MIB


def test_per_item_429_is_retried_with_backoff_then_succeeds() -> None:
    cluster = FakeCluster()
    indexer, sleeps = make(cluster)
    busy = company(2)
    cluster.item_statuses[busy.doc_id] = [429, 429]

    outcome = indexer.run([company(1), busy, company(3)])

    assert outcome.ok and outcome.acknowledged == 3
    assert sleeps == [0.5, 1.0]
    retried_ids = [
        [line["index"]["_id"] for line in r.ndjson()[::2]] for r in cluster.of("POST", "/_bulk")
    ]
    assert retried_ids == [
        [company(1).doc_id, busy.doc_id, company(3).doc_id],
        [busy.doc_id],
        [busy.doc_id],
    ]
    assert busy.doc_id in cluster.documents(INDEX)


def test_5xx_is_retried_and_a_mapping_error_is_permanent_without_retry() -> None:
    cluster = FakeCluster()
    indexer, _ = make(cluster)
    flaky = company(1)
    cluster.item_statuses[flaky.doc_id] = [503]
    broken = IndexAction("index", INDEX, company(2).doc_id, {"uuid": "x", "unknown_field": 1})

    outcome = indexer.run([flaky, broken])

    assert outcome.acknowledged == 1
    assert outcome.retryable == {}
    assert list(outcome.permanent) == [(INDEX, broken.doc_id)]
    assert "status 400" in outcome.permanent[(INDEX, broken.doc_id)]
    assert "strict" in outcome.permanent[(INDEX, broken.doc_id)]
    sent = [line["index"]["_id"] for r in cluster.of("POST", "/_bulk") for line in r.ndjson()[::2]]
    assert sent.count(broken.doc_id) == 1 and sent.count(flaky.doc_id) == 2


def test_an_unreachable_cluster_leaves_every_item_retryable() -> None:
    cluster = FakeCluster()
    indexer, sleeps = make(cluster, max_attempts=3)
    cluster.down = True

    outcome = indexer.run([company(1), company(2)])

    assert outcome.acknowledged == 0
    assert len(outcome.retryable) == 2
    assert all("N/A" in message for message in outcome.retryable.values())
    assert sleeps == [0.5, 1.0]
    assert len(cluster.of("POST", "/_bulk")) == 3


def test_deleting_an_absent_document_counts_as_done() -> None:
    cluster = FakeCluster()
    indexer, _ = make(cluster)

    outcome = indexer.run([IndexAction("delete", INDEX, company(9).doc_id)])

    assert outcome.ok and outcome.acknowledged_keys == [(INDEX, company(9).doc_id)]


def versioned(number: int, name: str, version: int) -> IndexAction:
    action = company(number)
    document = {**(action.document or {}), "name": name}
    return IndexAction("index", INDEX, action.doc_id, document, version)


def test_a_late_write_with_an_older_version_is_done_without_overwriting() -> None:
    cluster = FakeCluster()
    indexer, _ = make(cluster)

    assert indexer.run([versioned(1, "newer", version=20)]).ok
    late = indexer.run([versioned(1, "older", version=10)])  # a retried bulk, arriving late

    assert late.ok and late.acknowledged == 1  # 409: the index already holds a newer one
    assert cluster.documents(INDEX)[company(1).doc_id]["name"] == "newer"
    (line,) = cluster.of("POST", "/_bulk")[-1].ndjson()[::2]
    assert line["index"]["version_type"] == "external_gte" and line["index"]["version"] == 10


def test_writes_require_the_alias_and_never_auto_create_an_index() -> None:
    cluster = FakeCluster()
    indexer = BulkIndexer(cluster.client(), "t", sleep=lambda _: None, max_attempts=2)

    outcome = indexer.run([company(1)])  # "t-companies" does not exist

    assert outcome.acknowledged == 0 and list(outcome.retryable) == [(INDEX, company(1).doc_id)]
    assert cluster.indices == {}
    assert all(r.params.get("require_alias") == b"true" for r in cluster.of("POST", "/_bulk"))


def test_whole_request_429s_and_timeouts_are_retried() -> None:
    cluster = FakeCluster()
    indexer, sleeps = make(cluster)
    cluster.request_failures = [429, "timeout"]

    outcome = indexer.run([company(1), company(2)])

    assert outcome.ok and outcome.acknowledged == 2 and outcome.attempts == 3
    assert sleeps == [0.5, 1.0]


def test_a_body_the_cluster_refuses_as_too_large_is_reported_not_lost() -> None:
    cluster = FakeCluster()
    indexer, _ = make(cluster)
    cluster.max_content_length = 1_000

    outcome = indexer.run([company(1, size=2_000)])

    assert outcome.acknowledged == 0
    assert "status 413" in outcome.permanent[(INDEX, company(1).doc_id)]
