"""The local runner: S3 uploads → EventBridge-shaped events → the pipeline in processes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connectra.jobs import repository as jobs
from connectra.local.runner import Runner
from connectra.storage.s3 import get_store
from tests.conftest import moto_http_server

BUCKET = "connectra-runner-test"


@pytest.fixture
def moto_server(clean_db: str) -> Iterator[str]:
    """A real HTTP S3 (moto server), so spawned worker processes can reach it."""
    with moto_http_server(BUCKET) as endpoint:
        yield endpoint


def wait_for_job(conn: Any, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = conn.execute("SELECT * FROM jobs").fetchone()
        conn.commit()
        if job and job["finished_at"] is not None:
            return dict(job)
        time.sleep(0.3)
    raise AssertionError("the import did not finish in time")


def test_runner_imports_a_new_upload_once_with_worker_processes(
    moto_server: str, conn: Any
) -> None:
    body = "email,first_name\n" + "".join(f"p{i}@example.com,P{i}\n" for i in range(500))
    key = "uploads/contacts/6d1f0c2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/people.csv"
    get_store().put_bytes(BUCKET, "uploads/readme.txt", b"not an upload", "text/plain")
    get_store().put_bytes(BUCKET, key, body.encode(), "text/csv")
    jobs.create_import_job(  # as GET /common/upload-url creates it
        conn,
        uuid.UUID("6d1f0c2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"),
        entity="contacts",
        owner_key_id="dev",
        status=jobs.JobStatus.AWAITING_UPLOAD,
        source_key=key,
        data={"chunk_size": 2000},
    )
    conn.commit()
    runner = Runner(workers=2, interval=0.1)
    try:
        assert runner.poll_once() == 2  # both objects seen, only one is an upload
        assert runner.poll_once() == 0  # nothing new: no second event
        job = wait_for_job(conn, 90)
    finally:
        runner.stop.set()
        runner.job_threads.shutdown(wait=True)
        runner.workers.shutdown(wait=True)

    assert job["status"] == "completed"
    chunks = -(-len(body.encode()) // 2000)
    assert chunks > 2
    assert (job["total_rows"], job["inserted_rows"], job["chunks_total"]) == (500, 500, chunks)
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 500
