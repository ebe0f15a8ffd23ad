"""Guarded transitions under races, two sweepers at once, and stalled jobs."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from connectra.ingest.events import ChunkItem, PlanInput
from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from connectra.jobs.models import JobStatus
from connectra.orchestration.sweeper import STALLED_ERROR, sweep
from tests.integration.locks import wait_until_blocked_by

# The transitions that bring a new (`open`) job to each state a test starts from.
PATHS: dict[str, list[Callable[[Any, uuid.UUID], Any]]] = {
    "open": [],
    "in_queue": [lifecycle.enqueue],
    "processing": [lifecycle.enqueue, lifecycle.start],
    "completed": [
        lifecycle.enqueue,
        lifecycle.start,
        lambda conn, job_id: lifecycle.finish(
            conn, job_id, JobStatus.COMPLETED, total_rows=0, response={}
        ),
    ],
    "failed": [lambda conn, job_id: lifecycle.fail(conn, job_id, "boom")],
}


def insert_job(
    conn: Any, status: str, *, job_type: str = "export", retry_interval: int = 30
) -> uuid.UUID:
    """A job created as the job service creates it, then moved to `status`."""
    job_id = uuid.uuid4()
    jobs.create_job(
        conn,
        job_id,
        job_type=job_type,
        entity="contacts",
        owner_key_id="dev",
        idempotency_key=None,
        request_hash="",
        source={"bucket": None, "key": None, "etag": None, "size": None},
        data={"entity": "contacts"},
        max_retries=3,
        retry_interval=retry_interval,
    )
    for step in PATHS[status]:
        assert step(conn, job_id) is not None
    conn.commit()
    return job_id


def test_two_racing_transitions_exactly_one_wins(clean_db: str, conn: Any) -> None:
    job_id = insert_job(conn, "failed")
    results: dict[str, Any] = {}
    with (
        psycopg.connect(clean_db, row_factory=dict_row) as first,
        psycopg.connect(clean_db, row_factory=dict_row) as second,
    ):
        results["retry"] = lifecycle.request_retry(first, job_id)  # holds the row lock

        def cancel() -> None:
            results["cancel"] = lifecycle.cancel(second, job_id)
            second.commit()

        racer = threading.Thread(target=cancel)
        racer.start()
        # The cancel reached the row and waits on the retry's lock before that commits.
        wait_until_blocked_by(clean_db, second.info.backend_pid, first.info.backend_pid, racer)
        first.commit()
        racer.join(timeout=10)

    # failed → retry_in_queue won; retry_in_queue → cancelled is also allowed, so the
    # second transition re-checks the row it waited for and applies on top of it.
    assert results["retry"].status == "retry_in_queue"
    assert results["cancel"].status == "cancelled"
    assert results["cancel"].retry_count == 1


def test_two_workers_taking_the_same_job_exactly_one_wins(clean_db: str, conn: Any) -> None:
    job_id = insert_job(conn, "in_queue")
    barrier = threading.Barrier(8)
    winners: list[Any] = []

    def take() -> None:
        with psycopg.connect(clean_db, row_factory=dict_row) as worker:
            barrier.wait()
            row = lifecycle.start(worker, job_id)
            worker.commit()
            if row is not None:
                winners.append(row)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert len(winners) == 1 and winners[0].status == "processing"
    final = conn.execute("SELECT status FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    assert final["status"] == "processing"


def test_a_transition_from_a_wrong_state_changes_nothing(conn: Any) -> None:
    job_id = insert_job(conn, "completed")

    assert lifecycle.cancel(conn, job_id) is None
    assert lifecycle.request_retry(conn, job_id) is None
    assert lifecycle.start(conn, job_id) is None
    row = conn.execute("SELECT status FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    assert row["status"] == "completed"


class RecordingLauncher:
    """Counts launches; slow enough that two sweepers overlap."""

    def __init__(self) -> None:
        self.exports: list[uuid.UUID] = []
        self.lock = threading.Lock()

    def start_import(self, plan_input: PlanInput, attempt: int) -> None:
        raise AssertionError("no import in this test")

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        raise AssertionError("no import in this test")

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        time.sleep(0.05)
        with self.lock:
            self.exports.append(job_id)


def test_two_sweepers_at_once_do_no_double_work(s3: Any, conn: Any) -> None:
    due = [insert_job(conn, "failed", retry_interval=0) for _ in range(6)]
    new = [insert_job(conn, "open") for _ in range(4)]
    launcher = RecordingLauncher()
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        sweep(launcher)

    sweepers = [threading.Thread(target=run) for _ in range(2)]
    for thread in sweepers:
        thread.start()
    for thread in sweepers:
        thread.join(timeout=60)
    sweep(launcher)  # a third, later run finds nothing left to do

    assert Counter(launcher.exports) == Counter({job_id: 1 for job_id in due + new})
    rows = conn.execute(
        "SELECT uuid, status, retry_count FROM jobs WHERE uuid = ANY(%s)", (due,)
    ).fetchall()
    assert {(row["status"], row["retry_count"]) for row in rows} == {("retry_in_queue", 1)}


def test_a_job_whose_heartbeat_stopped_is_failed_retryable(s3: Any, conn: Any) -> None:
    job_id = insert_job(conn, "processing", job_type="import")
    conn.execute(  # an hour passes without a heartbeat
        "UPDATE jobs SET updated_at = now() - interval '1 hour', "
        "started_at = now() - interval '1 hour', heartbeat_at = now() - interval '1 hour' "
        "WHERE uuid = %s",
        (job_id,),
    )
    conn.execute(
        "INSERT INTO job_chunks (job_id, chunk_index, start_byte, end_byte, status, "
        "heartbeat_at) VALUES (%s, 0, 0, 10, 'done', now() - interval '1 hour'), "
        "(%s, 1, 10, 20, 'running', now() - interval '1 hour')",
        (job_id, job_id),
    )
    alive = insert_job(conn, "processing")  # its heartbeat is fresh
    conn.commit()

    report = sweep(RecordingLauncher())

    assert report.stalled == [str(job_id)]
    job = conn.execute("SELECT * FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    assert (job["status"], job["error"]) == (JobStatus.RETRY_IN_QUEUE.value, STALLED_ERROR)
    assert job["run_after"] is not None
    chunks = conn.execute(
        "SELECT chunk_index, status FROM job_chunks WHERE job_id = %s ORDER BY 1", (job_id,)
    ).fetchall()
    assert [row["status"] for row in chunks] == ["done", "failed"]
    other = conn.execute("SELECT status FROM jobs WHERE uuid = %s", (alive,)).fetchone()
    assert other["status"] == "processing"
