"""The search outbox against real PostgreSQL and the fake transport: nothing is lost.

Acceptance (issue 6): with the backend unreachable, writes still commit and the outbox
holds the pending ids; once it is back, the drain empties the outbox and reconcile
reports zero drift. Also: removal only after acknowledgement, per-item retries and
permanent errors, SKIP LOCKED between two drains, deletes, company changes, reindex,
reconcile's drift kinds and repair, and the PostgreSQL backend's no-op.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from connectra.db import outbox
from connectra.db.upsert import bulk_upsert
from connectra.models.fields import Entity
from connectra.search.indexing import (
    PERMANENT_PREFIX,
    BulkIndexer,
    IndexLayoutError,
    drain_outbox,
    indexer_from_settings,
    reconcile,
    reindex,
)
from connectra.settings import Settings
from tests.integration.search.fixture import COMPANIES, CONTACTS, uuid_of
from tests.unit.opensearch.fake_cluster import FakeCluster

LIVE_COMPANIES = COMPANIES  # written through bulk_upsert: all live here
LIVE_CONTACTS = [c for c in CONTACTS if c["deleted_at"] is None]


def writable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("created_at", "updated_at", "deleted_at")}


def outbox_rows(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT entity, record_uuid, attempts, last_error, "
        "next_attempt_at > now() + interval '50 years' AS parked FROM search_outbox "
        "ORDER BY entity, record_uuid"
    ).fetchall()
    conn.commit()
    return rows


def make_due(conn: psycopg.Connection[Any]) -> None:
    """Time passes: retries scheduled for later become due now."""
    conn.execute("UPDATE search_outbox SET next_attempt_at = now() WHERE next_attempt_at > now()")
    conn.commit()


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def indexer(cluster: FakeCluster, sleeps: list[float]) -> BulkIndexer:
    return BulkIndexer(cluster.client(), "t", sleep=sleeps.append, max_attempts=3)


def write_fixture(conn: psycopg.Connection[Any]) -> None:
    bulk_upsert(conn, Entity.COMPANIES, [writable(c) for c in LIVE_COMPANIES], enqueue_search=True)
    bulk_upsert(conn, Entity.CONTACTS, [writable(c) for c in LIVE_CONTACTS], enqueue_search=True)
    conn.commit()


def test_outage_writes_commit_outbox_keeps_ids_then_drain_and_reconcile_clean(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    # Given the search backend is unreachable
    cluster.down = True
    # When records are written
    write_fixture(conn)
    # Then PostgreSQL has them and the outbox holds every pending id
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone() == {
        "n": len(LIVE_CONTACTS)
    }
    expected = {("companies", c["uuid"]) for c in LIVE_COMPANIES}
    expected |= {("contacts", c["uuid"]) for c in LIVE_CONTACTS}
    assert {(r["entity"], r["record_uuid"]) for r in outbox_rows(conn)} == expected

    # And a drain during the outage loses nothing: every row stays, with the reason
    failed = drain_outbox(conn, indexer, batch_size=10)
    assert (failed.removed, failed.retrying) == (0, len(expected))
    rows = outbox_rows(conn)
    assert {(r["entity"], r["record_uuid"]) for r in rows} == expected
    assert all(r["attempts"] == 1 and "N/A" in r["last_error"] for r in rows)

    # When the backend returns (and the retries are due)
    cluster.down = False
    make_due(conn)
    drained = drain_outbox(conn, indexer, batch_size=10)

    # Then the outbox is empty, and reconcile finds no drift
    assert drained.removed == len(expected) and drained.indexed == len(expected)
    assert outbox_rows(conn) == []
    for entity in Entity:
        report = reconcile(conn, indexer, entity)
        assert (report.drift, report.outbox_pending, report.outbox_parked) == (0, 0, 0)
        assert report.live_rows == report.indexed_documents > 0


def test_outbox_rows_are_removed_only_after_acknowledgement(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer, clean_db: str
) -> None:
    write_fixture(conn)
    total = len(outbox_rows(conn))
    seen_during_bulk: list[int] = []

    def count_outbox(_: list[Any]) -> None:
        with psycopg.connect(clean_db) as other:
            row = other.execute("SELECT count(*) FROM search_outbox").fetchone()
            assert row is not None
            seen_during_bulk.append(row[0])

    cluster.on_bulk = count_outbox
    drain_outbox(conn, indexer, batch_size=1_000)

    assert seen_during_bulk == [total]  # still all there while OpenSearch works
    assert outbox_rows(conn) == []


def test_429_items_are_retried_and_a_permanent_error_is_parked_then_repaired(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer, sleeps: list[float]
) -> None:
    write_fixture(conn)
    busy, broken = str(uuid_of("ct02")), str(uuid_of("ct03"))
    cluster.item_statuses[busy] = [429, 429]
    cluster.item_statuses[broken] = [400]

    result = drain_outbox(conn, indexer)

    assert sleeps == [0.5, 1.0]
    assert (result.retrying, result.parked) == (0, 1)
    (parked,) = outbox_rows(conn)
    assert str(parked["record_uuid"]) == broken and parked["attempts"] == 1
    assert parked["last_error"].startswith(PERMANENT_PREFIX + "status 400")
    assert parked["parked"] is True  # not retried by itself
    assert busy in cluster.documents("t-contacts")

    report = reconcile(conn, indexer, Entity.CONTACTS)
    assert (report.missing, report.outbox_parked, report.samples["missing"]) == (1, 1, [broken])

    repaired = reconcile(conn, indexer, Entity.CONTACTS, repair=True)
    assert repaired.repaired == 1
    assert outbox_rows(conn) == []
    assert reconcile(conn, indexer, Entity.CONTACTS).drift == 0


def test_two_concurrent_drains_never_index_a_record_twice(
    conn: psycopg.Connection[Any], cluster: FakeCluster, clean_db: str
) -> None:
    write_fixture(conn)
    total = len(outbox_rows(conn))
    cluster.on_bulk = lambda _: time.sleep(0.02)  # keep batches in flight together
    results: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            with psycopg.connect(clean_db, row_factory=dict_row) as own:
                indexer = BulkIndexer(cluster.client(), "t", sleep=lambda _: None)
                results.append(drain_outbox(own, indexer, batch_size=3).removed)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    indexed = [
        line["index"]["_id"]
        for request in cluster.of("POST", "/_bulk")
        for line in request.ndjson()
        if "index" in line
    ]
    assert len(indexed) == len(set(indexed)) == total
    assert sum(results) == total and all(count > 0 for count in results)
    assert outbox_rows(conn) == []


def test_soft_deleted_records_are_deleted_and_company_changes_reach_contacts(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    write_fixture(conn)
    drain_outbox(conn, indexer)
    contact, company = uuid_of("ct01"), uuid_of("co01")

    conn.execute("UPDATE contacts SET deleted_at = now() WHERE uuid = %s", (contact,))
    outbox.enqueue(conn, "contacts", [contact], "upsert")  # the row decides: it is deleted
    conn.execute("UPDATE companies SET name = 'Acme Renamed', updated_at = now() WHERE uuid = %s",
                 (company,))  # fmt: skip
    outbox.enqueue(conn, "companies", [company], "upsert")
    conn.commit()
    drain_outbox(conn, indexer)

    contacts = cluster.documents("t-contacts")
    assert str(contact) not in contacts
    colleague = contacts[str(uuid_of("ct07"))]  # also at co01
    assert colleague["company_name"] == "Acme Renamed"
    assert cluster.documents("t-companies")[str(company)]["name"] == "Acme Renamed"
    assert reconcile(conn, indexer, Entity.CONTACTS).drift == 0


def test_reconcile_reports_each_kind_of_drift_and_repairs_it(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    write_fixture(conn)
    drain_outbox(conn, indexer)
    missing, stale, orphan = uuid_of("ct02"), uuid_of("ct03"), uuid_of("ct04")
    (index_name,) = cluster.resolve("t-contacts")
    del cluster.indices[index_name].docs[str(missing)]
    conn.execute("UPDATE contacts SET title = 'CTO', updated_at = now() WHERE uuid = %s", (stale,))
    conn.execute("UPDATE contacts SET deleted_at = now() WHERE uuid = %s", (orphan,))
    conn.commit()  # written without the outbox: the drift reconcile exists for

    report = reconcile(conn, indexer, Entity.CONTACTS)
    assert (report.missing, report.stale, report.orphans) == (1, 1, 1)
    assert report.samples == {
        "missing": [str(missing)],
        "stale": [str(stale)],
        "orphans": [str(orphan)],
    }

    repaired = reconcile(conn, indexer, Entity.CONTACTS, repair=True)
    assert repaired.repaired == 3
    assert reconcile(conn, indexer, Entity.CONTACTS).drift == 0
    assert cluster.documents("t-contacts")[str(stale)]["title"] == "CTO"


def test_reindex_swaps_the_alias_to_a_fresh_index(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    write_fixture(conn)
    conn.execute("DELETE FROM search_outbox")
    conn.commit()

    first = reindex(conn, indexer, Entity.COMPANIES)
    second = reindex(conn, indexer, Entity.COMPANIES)

    assert first.indexed == second.indexed == len(LIVE_COMPANIES)
    assert cluster.resolve("t-companies") == [second.index]
    assert first.index not in cluster.indices  # the old index is gone
    assert cluster.indices[second.index].settings["refresh_interval"] == "1s"
    assert reconcile(conn, indexer, Entity.COMPANIES).drift == 0


def test_postgres_backend_has_no_indexer_and_the_drain_does_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    assert indexer_from_settings(Settings(search_backend="postgres")) is None
    outbox.enqueue(conn, "contacts", [uuid_of("ct01")], "upsert")
    conn.commit()

    result = drain_outbox(conn, None)

    assert result.removed == 0 and result.claimed == 0
    assert len(outbox_rows(conn)) == 1  # untouched


def test_two_indexers_creating_the_first_index_at_once_end_with_one(
    cluster: FakeCluster,
) -> None:
    first = BulkIndexer(cluster.client(), "t")
    second = BulkIndexer(cluster.client(), "t")
    staged: list[str] = []

    def create_first_meanwhile(method: str, path: str) -> None:
        # The second indexer saw no alias; before its creation request lands, the first
        # indexer creates the index.
        if method == "PUT" and not staged:
            staged.append(path)
            first.ensure_index(Entity.COMPANIES)

    cluster.on_request = create_first_meanwhile
    assert second.ensure_index(Entity.COMPANIES) == "t-companies"

    assert staged == ["/t-companies-000001"]
    assert list(cluster.indices) == ["t-companies-000001"]
    assert cluster.resolve("t-companies") == ["t-companies-000001"]


def test_a_removed_alias_is_never_replaced_by_an_auto_created_index(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    write_fixture(conn)
    drain_outbox(conn, indexer)
    indexer.client.indices.update_aliases(
        body={"actions": [{"remove": {"index": "t-companies-000001", "alias": "t-companies"}}]}
    )
    outbox.enqueue(conn, "companies", [uuid_of("co01")], "upsert")
    conn.commit()

    result = drain_outbox(conn, indexer)

    kept = outbox_rows(conn)  # the company and its contacts (company_ fields)
    assert (result.removed, result.retrying) == (0, len(kept)) and len(kept) > 1
    assert all("run a reindex" in row["last_error"] for row in kept)
    assert sorted(cluster.indices) == ["t-companies-000001", "t-contacts-000001"]


def test_reindex_waits_for_green_and_keeps_the_old_index_when_it_cannot(
    conn: psycopg.Connection[Any],
) -> None:
    single_node = FakeCluster(nodes=1)
    write_fixture(conn)
    drain_outbox(conn, BulkIndexer(single_node.client(), "t", replicas=0))
    indexer = BulkIndexer(single_node.client(), "t", replicas=1)

    with pytest.raises(IndexLayoutError, match="OPENSEARCH_REPLICAS=0"):
        reindex(conn, indexer, Entity.COMPANIES)

    assert single_node.resolve("t-companies") == ["t-companies-000001"]
    assert sorted(single_node.indices) == ["t-companies-000001", "t-contacts-000001"]


def test_reindex_requeues_a_write_whose_transaction_began_before_it(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer, clean_db: str
) -> None:
    write_fixture(conn)
    drain_outbox(conn, indexer)
    company = uuid_of("co02")
    writer = psycopg.connect(clean_db)
    sweeper = psycopg.connect(clean_db, autocommit=True)
    try:
        # A writer's transaction begins (updated_at = its start) before the rebuild ...
        writer.execute(
            "UPDATE companies SET name = 'Globex Renamed', updated_at = now() WHERE uuid = %s",
            (company,),
        )
        outbox.enqueue(writer, "companies", [company], "upsert")

        def commit_and_drain_during_the_rebuild(method: str, path: str) -> None:
            in_rebuild = method == "POST" and path.endswith("/_bulk")
            if in_rebuild and writer.info.transaction_status == TransactionStatus.INTRANS:
                # ... commits after the rebuild's snapshot, and the sweeper drains it into
                # the OLD index (the alias still points there): the rebuild has not seen it.
                writer.commit()
                drain_outbox(sweeper, BulkIndexer(cluster.client(), "t"))

        cluster.on_request = commit_and_drain_during_the_rebuild
        result = reindex(conn, indexer, Entity.COMPANIES)
        cluster.on_request = None
    finally:
        writer.close()
        sweeper.close()

    assert result.requeued_changes >= 1
    drain_outbox(conn, indexer)
    assert cluster.resolve("t-companies") == [result.index]
    assert cluster.documents("t-companies")[str(company)]["name"] == "Globex Renamed"
    assert reconcile(conn, indexer, Entity.COMPANIES).drift == 0


class DrainerKilled(BaseException):
    """The process ends here (like SystemExit: no `except Exception` handles it)."""


def write_unqueued(conn: psycopg.Connection[Any]) -> None:
    """The fixture's records, with nothing queued for search (yet)."""
    for entity, rows in ((Entity.COMPANIES, LIVE_COMPANIES), (Entity.CONTACTS, LIVE_CONTACTS)):
        bulk_upsert(conn, entity, [writable(row) for row in rows], enqueue_search=False)
    conn.commit()


def queue_batch_entry(conn: psycopg.Connection[Any], entity: str, ids_query: str) -> None:
    """What an import's batch queues (db/outbox.py `batch_statement`), committed."""
    conn.execute(outbox.batch_statement(entity, ids_query))
    conn.commit()


def batch_entries(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM search_outbox_batches").fetchone()
    conn.commit()
    assert row is not None
    return int(row["n"])


def test_a_batch_entry_is_indexed_whole_and_its_failures_become_outbox_rows(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer, sleeps: list[float]
) -> None:
    write_unqueued(conn)
    queue_batch_entry(conn, "contacts", "SELECT uuid FROM contacts")
    queue_batch_entry(conn, "contacts", "SELECT uuid FROM contacts WHERE false")  # no entry
    assert batch_entries(conn) == 1
    before = reconcile(conn, indexer, Entity.CONTACTS)
    assert (before.missing, before.outbox_pending) == (len(LIVE_CONTACTS), len(LIVE_CONTACTS))
    busy, broken = str(uuid_of("ct02")), str(uuid_of("ct03"))
    cluster.item_statuses[busy] = [429, 429, 429]  # more than the indexer's 3 attempts
    cluster.item_statuses[broken] = [400]

    result = drain_outbox(conn, indexer, batch_size=4)  # several bulk requests per entry

    assert batch_entries(conn) == 0
    assert (result.retrying, result.parked) == (1, 1)
    assert result.removed == len(LIVE_CONTACTS) - 2
    kept = {str(r["record_uuid"]): r for r in outbox_rows(conn)}
    assert set(kept) == {busy, broken}
    assert kept[broken]["parked"] and kept[broken]["last_error"].startswith(PERMANENT_PREFIX)
    assert not kept[busy]["parked"] and kept[busy]["attempts"] == 1

    make_due(conn)
    cluster.item_statuses.clear()
    repaired = reconcile(conn, indexer, Entity.CONTACTS, repair=True)
    assert repaired.missing == 2
    assert outbox_rows(conn) == []
    assert reconcile(conn, indexer, Entity.CONTACTS).drift == 0


def test_a_batch_entry_outlives_an_outage_and_a_crashed_drain(
    conn: psycopg.Connection[Any], cluster: FakeCluster, indexer: BulkIndexer
) -> None:
    write_unqueued(conn)
    queue_batch_entry(conn, "contacts", "SELECT uuid FROM contacts")

    def crash(_: list[Any]) -> None:
        raise DrainerKilled  # the drainer dies mid-bulk (not an error it handles)

    cluster.on_bulk = crash
    with pytest.raises(DrainerKilled):
        drain_outbox(conn, indexer, batch_size=4)
    conn.rollback()
    assert batch_entries(conn) == 1 and outbox_rows(conn) == []  # rolled back whole

    cluster.on_bulk = None
    cluster.down = True
    outage = drain_outbox(conn, indexer)
    assert (outage.removed, outage.retrying) == (0, len(LIVE_CONTACTS))
    assert batch_entries(conn) == 0
    assert len(outbox_rows(conn)) == len(LIVE_CONTACTS)  # every record kept, per record

    cluster.down = False
    make_due(conn)
    assert drain_outbox(conn, indexer).removed == len(LIVE_CONTACTS)
    assert outbox_rows(conn) == []
    assert reconcile(conn, indexer, Entity.CONTACTS).drift == 0
