"""Ingest's status writes are guarded lifecycle transitions, and it imports only the object
version whose upload event created the job."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connectra.db.pool import connection
from connectra.ingest.plan import JobCancelled
from connectra.jobs import lifecycle
from connectra.local.pipeline import invoke, run_import
from connectra.storage.s3 import ObjectStore, SourceChanged
from tests.integration.ingest.conftest import BUCKET, upload_job

BODY = b"First Name,Email\n" + b"".join(b"P%d,p%d@example.com\n" % (i, i) for i in range(60))


def chunk_items(store: ObjectStore, job_id: uuid.UUID, plan: dict[str, Any]) -> list[Any]:
    ranges = store.get_json(plan["manifest_bucket"], plan["manifest_key"])
    counts = [invoke("count", item) for item in ranges]
    bounds = invoke("boundaries", {**plan, "counts": counts})
    items: list[Any] = store.get_json(bounds["manifest_bucket"], bounds["manifest_key"])
    return items


def job_row(conn: Any, job_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] = conn.execute(
        "SELECT status, error, total_rows, inserted_rows, retry_count, retry_interval, "
        "extract(epoch FROM run_after - COALESCE(finished_at, updated_at)) AS delay "
        "FROM jobs WHERE uuid = %s",
        (job_id,),
    ).fetchone()
    return row


def test_a_job_cancelled_while_its_chunks_run_stays_cancelled(
    store: ObjectStore, conn: Any
) -> None:
    # Given a planned job, cancelled before its chunks finish
    job = upload_job(store, BODY, chunk_size=256)
    plan = invoke("plan", job.model_dump(mode="json"))
    items = chunk_items(store, job.job_id, plan)
    with connection() as db:
        assert lifecycle.cancel(db, job.job_id) is not None

    # When the chunks and Finalize still run
    for item in items:
        invoke("chunk", item)
    summary = invoke("finalize", {"job_id": str(job.job_id)})

    # Then the job stays cancelled, with its counts recorded
    assert summary["status"] == "cancelled"
    row = job_row(conn, job.job_id)
    assert (row["status"], row["total_rows"], row["inserted_rows"]) == ("cancelled", 60, 60)
    assert conn.execute("SELECT count(*) AS n FROM import_keys").fetchone()["n"] == 0


def test_plan_of_a_cancelled_job_stops_and_the_job_stays_cancelled(
    store: ObjectStore, conn: Any
) -> None:
    job = upload_job(store, BODY)
    with connection() as db:
        assert lifecycle.cancel(db, job.job_id) is not None

    with pytest.raises(JobCancelled):
        invoke("plan", job.model_dump(mode="json"))
    summary = run_import(job, workers=1)

    assert summary.status == "cancelled"
    assert job_row(conn, job.job_id)["status"] == "cancelled"
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 0


def test_a_failed_run_is_scheduled_for_retry_with_back_off(store: ObjectStore, conn: Any) -> None:
    job = upload_job(store, BODY)
    invoke("plan", job.model_dump(mode="json"))
    conn.execute("UPDATE jobs SET retry_count = 2 WHERE uuid = %s", (job.job_id,))
    conn.commit()

    failure = {"Error": "States.Timeout", "Cause": "chunk 3 timed out"}
    summary = invoke("finalize", {"job_id": str(job.job_id), "failed": True, "error": failure})

    # Retries remain (2 of 3 used): the failure is retry_in_queue, with its back-off.
    assert summary["status"] == "retry_in_queue"
    row = job_row(conn, job.job_id)
    assert row["status"] == "retry_in_queue" and "chunk 3 timed out" in row["error"]
    assert row["retry_count"] == 3
    expected = lifecycle.backoff_seconds(row["retry_interval"], 2)
    assert abs(float(row["delay"]) - expected) < 5


def test_a_finished_job_is_not_changed_by_a_replayed_finalize(
    store: ObjectStore, conn: Any
) -> None:
    job = upload_job(store, BODY)
    assert run_import(job, workers=1).status == "completed"

    replay = invoke("finalize", {"job_id": str(job.job_id), "failed": True, "error": "late"})

    assert replay["status"] == "completed"
    assert job_row(conn, job.job_id)["status"] == "completed"


def test_an_object_replaced_before_plan_is_not_imported(store: ObjectStore, conn: Any) -> None:
    # Given a job whose upload event recorded version 1, then version 2 written to the key
    job = upload_job(store, BODY)
    other = b"First Name,Email\nMallory,mallory@example.com\n"
    store.put_bytes(BUCKET, job.key, other, "text/csv")

    summary = run_import(job, workers=1)

    # Then the job fails with a clear reason and imports nothing
    assert summary.status == "failed"
    assert summary.error and "changed after its upload event" in summary.error
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 0
    assert job_row(conn, job.job_id)["status"] == "failed"


def test_an_object_replaced_during_the_run_fails_its_chunks(store: ObjectStore, conn: Any) -> None:
    # Given a planned job, then another version written before its chunks read
    job = upload_job(store, BODY, chunk_size=256)
    plan = invoke("plan", job.model_dump(mode="json"))
    items = chunk_items(store, job.job_id, plan)
    store.put_bytes(BUCKET, job.key, BODY.replace(b"example", b"elsewhere"), "text/csv")

    # Then every ranged read refuses the new version (If-Match)
    with pytest.raises(SourceChanged):
        invoke("chunk", items[0])
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 0
