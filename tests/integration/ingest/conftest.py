"""Fixtures of the ingest integration tests: in-process moto S3 + the real test database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connectra.ingest.events import PlanInput
from connectra.jobs import repository as jobs
from connectra.storage.s3 import ObjectStore, get_store
from tests.conftest import mocked_s3

BUCKET = "connectra-test-ingest"


@pytest.fixture
def s3(clean_db: str) -> Iterator[Any]:
    """A mocked S3 with the product bucket; settings and the store cache point to it."""
    with mocked_s3(BUCKET) as client:
        yield client


@pytest.fixture
def store(s3: Any) -> ObjectStore:
    return get_store()


def upload_job(
    store: ObjectStore,
    body: bytes,
    *,
    entity: str = "contacts",
    filename: str = "data.csv",
    chunk_size: int | None = None,
    owner: str = "dev",
) -> PlanInput:
    """A job as the upload-url route makes it, its object uploaded, attached (in_queue)."""
    from connectra.db.pool import connection

    job_id = uuid.uuid4()
    key = f"uploads/{entity}/{job_id}/{filename}"
    store.put_bytes(BUCKET, key, body, "text/csv")
    etag = store.head(BUCKET, key).etag
    with connection() as conn:
        jobs.create_import_job(
            conn,
            job_id,
            entity=entity,
            owner_key_id=owner,
            status=jobs.JobStatus.AWAITING_UPLOAD,
            source_bucket=BUCKET,
            source_key=key,
            data={"chunk_size": chunk_size} if chunk_size else {},
        )
        assert jobs.attach_source(conn, job_id, bucket=BUCKET, key=key, etag=etag, size=len(body))
    return PlanInput(job_id=job_id, bucket=BUCKET, key=key)
