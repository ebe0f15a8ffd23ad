"""A chunk worker killed (SIGKILL) or cut off from PostgreSQL mid-batch, then retried: the
final rows, filter counts, row errors and job counts are exactly those of an
uninterrupted run.

To stop a worker at a precise point without hooks in the library, the test holds a row
lock (`SELECT … FOR UPDATE`) on one contact that the second chunk updates: the worker
blocks inside that batch's INSERT, after earlier batches of the same chunk transaction
were written (and after the first chunk committed). `pg_blocking_pids` shows when.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectra.ingest.events import ImportSummary, PlanInput
from connectra.local.pipeline import run_import
from connectra.storage.s3 import ObjectStore
from tests.reliability.data import contacts_file
from tests.reliability.helpers import (
    finish_worker,
    job_counts,
    plan_chunks,
    query,
    start_worker,
    table_state,
    truncate_data,
    upload_job,
    wait_until,
)

ROWS = 3_000
CHUNK_BYTES = 60_000  # ~4 chunks of ~800 rows: 16 batches of 50 each
SEEDED_INDEX = 900  # an existing contact, some batches into the second chunk


def seed(url: str) -> str:
    """One existing contact the import updates; returns its uuid."""
    body = {"email": f"person{SEEDED_INDEX}@example.com", "title": "Seeded", "first_name": "Old"}
    from connectra.db.pool import connection
    from connectra.db.records import RecordRepository
    from connectra.models.fields import Entity
    from connectra.models.records import ContactIn

    with connection() as conn:
        RecordRepository(Entity.CONTACTS, enqueue_search=False).upsert_many(
            conn, [ContactIn.model_validate(body)]
        )
    return str(query(url, "SELECT uuid FROM contacts")[0]["uuid"])


def uninterrupted(url: str, store: ObjectStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reference: the same file imported without faults (then the tables are emptied)."""
    seed(url)
    job = upload_job(store, contacts_file(ROWS, bad_every=97), chunk_size=CHUNK_BYTES)
    summary = run_import(job, workers=1)
    assert summary.status == "completed_with_errors"
    state, counts = table_state(url), job_counts(url, job.job_id)
    truncate_data(url)
    return state, counts


@contextmanager
def row_locked(url: str, record_uuid: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold a row lock on one contact until the block ends (then roll back)."""
    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM contacts WHERE uuid = %s FOR UPDATE", (record_uuid,))
        try:
            yield holder
        finally:
            holder.rollback()


def blocked_by(url: str, holder: psycopg.Connection[Any]) -> int | None:
    """The backend waiting on `holder`'s lock, if any."""
    rows = query(
        url,
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
        (holder.info.backend_pid,),
    )
    return int(rows[0]["pid"]) if rows else None


def seeded_chunk(store: ObjectStore, job: PlanInput) -> int:
    """The chunk whose range holds the seeded contact's record."""
    body = store.read_range(job.bucket, job.key, 0, store.head(job.bucket, job.key).size)
    return body.index(f"person{SEEDED_INDEX}@".encode()) // CHUNK_BYTES


def chunk_rows(url: str, job: PlanInput) -> list[dict[str, Any]]:
    return query(
        url,
        "SELECT chunk_index, status, attempts FROM job_chunks WHERE job_id = %s "
        "ORDER BY chunk_index",
        (job.job_id,),
    )


@pytest.mark.slow
def test_a_worker_killed_mid_batch_and_retried_gives_the_rows_of_an_uninterrupted_run(
    server_store: ObjectStore, clean_db: str, small_batches: int, tmp_path: Path
) -> None:
    # Given the reference result of an uninterrupted import of the file
    expected_state, expected_counts = uninterrupted(clean_db, server_store)
    # And the same file again, planned into chunks, with one contact of chunk 1 row-locked
    seeded = seed(clean_db)
    job = upload_job(server_store, contacts_file(ROWS, bad_every=97), chunk_size=CHUNK_BYTES)
    items = plan_chunks(server_store, job)
    assert len(items) >= 3
    with row_locked(clean_db, seeded) as holder:
        worker = start_worker({"steps": [["chunk", item] for item in items]}, tmp_path)
        try:
            backend = wait_until(lambda: blocked_by(clean_db, holder), 60, "the blocked batch")
            progress = chunk_rows(clean_db, job)
            # When the worker process is killed inside chunk 1's batch (chunk 0 committed)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert [row["status"] for row in progress[:2]] == ["done", "running"]
    assert seeded_chunk(server_store, job) == 1
    # The orphaned backend ends when it finds its client gone; its transaction rolls back.
    wait_until(
        lambda: not query(clean_db, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)),
        30,
        "the killed worker's backend to end",
    )
    # And every chunk of the manifest is retried, then the job finalized
    retried = start_worker(
        {
            "steps": [
                *(["chunk", item] for item in items),
                ["finalize", {"job_id": str(job.job_id)}],
            ]
        },
        tmp_path,
    )
    results = finish_worker(retried, timeout=90)

    # Then the rows, filters, errors and counts are exactly those of the uninterrupted run
    summary = ImportSummary.model_validate(results[-1]["result"])
    assert summary.chunks_done == summary.chunks_total == len(items)
    assert table_state(clean_db) == expected_state
    assert job_counts(clean_db, job.job_id) == expected_counts
    attempts = [row["attempts"] for row in chunk_rows(clean_db, job)]
    assert attempts[:2] == [1, 2]  # chunk 0 was not redone; chunk 1 ran again


@pytest.mark.slow
def test_a_connection_terminated_mid_chunk_is_retried_to_the_exact_rows(
    store: ObjectStore, clean_db: str, small_batches: int
) -> None:
    # Given the reference result of an uninterrupted import
    expected_state, expected_counts = uninterrupted(clean_db, store)
    seeded = seed(clean_db)
    job = upload_job(store, contacts_file(ROWS, bad_every=97), chunk_size=CHUNK_BYTES)
    outcome: dict[str, ImportSummary] = {}
    with row_locked(clean_db, seeded) as holder:
        # When the pipeline (with its own chunk retries) runs in the background
        runner = threading.Thread(
            target=lambda: outcome.setdefault("summary", run_import(job, workers=1)), daemon=True
        )
        runner.start()
        backend = wait_until(lambda: blocked_by(clean_db, holder), 60, "the blocked batch")
        # And its PostgreSQL backend is terminated from another connection mid-batch
        terminated = query(clean_db, "SELECT pg_terminate_backend(%s) AS ok", (backend,))
        assert terminated == [{"ok": True}]
    runner.join(120)

    # Then the library retried the chunk and the result is exact
    assert not runner.is_alive()
    summary = outcome["summary"]
    assert summary.status == "completed_with_errors"
    assert summary.chunks_done == summary.chunks_total
    assert table_state(clean_db) == expected_state
    assert job_counts(clean_db, job.job_id) == expected_counts
    attempts = query(
        clean_db, "SELECT max(attempts) AS n FROM job_chunks WHERE job_id = %s", (job.job_id,)
    )
    assert attempts == [{"n": 2}]
