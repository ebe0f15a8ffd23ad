"""`GET /common/jobs/{id}`: a job's status, counts, chunk progress and error report link."""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from psycopg import Connection
from pydantic import BaseModel

from connectra.api.deps import CallerDep, ConnDep, SettingsDep
from connectra.errors import NotFound
from connectra.ingest.combined import company_totals
from connectra.jobs import repository as jobs
from connectra.jobs.legacy import MAX_RUNTIME_ERRORS, LegacyJob, legacy_job
from connectra.jobs.models import Job
from connectra.settings import Settings
from connectra.storage.s3 import get_store

router = APIRouter(prefix="/common/jobs", tags=["jobs"])


class ChunkProgress(BaseModel):
    done: int
    failed: int
    total: int


class CompanyCounts(BaseModel):
    inserted: int
    updated: int


class JobCounts(BaseModel):
    total: int
    inserted: int
    updated: int
    failed: int
    duplicates: int
    # A contacts import's companies (combined rows), counted apart from its contacts.
    companies: CompanyCounts | None = None


class JobView(BaseModel):
    job_id: uuid.UUID
    job_type: str
    entity: str
    status: str
    source_key: str | None
    counts: JobCounts
    chunks: ChunkProgress
    error: str | None
    error_report_url: str | None
    download_url: str | None = None  # an export's file, presigned afresh on every read
    retry_count: int = 0
    max_retries: int = 0
    # retry_in_queue: a failure that will be retried, not before this time (its back-off).
    next_attempt_at: datetime | None = None
    notices: list[dict[str, Any]]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@router.get(
    "/{job_id}",
    summary="Inspect a job (in the original's shape if it was created in the original's form)",
    response_model=JobView | LegacyJob,
    openapi_extra={"x-required-scope": "any"},
    description="Needs a valid key of any scope: each key sees only its own jobs.",
)
def get_job(
    job_id: uuid.UUID, caller: CallerDep, conn: ConnDep, settings: SettingsDep
) -> JobView | LegacyJob:
    job = jobs.get_job(conn, job_id, owner_key_id=caller.key_id)
    if job is None:  # another caller's job is as invisible as a missing one
        raise NotFound(f"job {job_id} not found")
    if job.legacy_request:
        return legacy_view(conn, job, settings)
    progress = jobs.chunk_totals(conn, job_id)
    finished = job.finished_at is not None
    # While running, counts are the sum of the chunks committed so far.
    counts: dict[str, Any] = (
        {
            "total": job.total_rows,
            "inserted": job.inserted_rows,
            "updated": job.updated_rows,
            "failed": job.failed_rows,
            "duplicates": job.duplicate_rows,
        }
        if finished
        else {
            name: progress[name]
            for name in ("total", "inserted", "updated", "failed", "duplicates")
        }
    )
    if job.entity == "contacts" and job.job_type == "import":
        counts["companies"] = (job.response or {}).get("companies") or company_totals(conn, job_id)
    report_url, download_url = job_links(job, settings)
    return JobView(
        job_id=job.uuid,
        job_type=job.job_type,
        entity=job.entity,
        status=job.status,
        source_key=job.source_key,
        counts=JobCounts(**counts),
        chunks=ChunkProgress(
            done=progress["chunks_done"],
            failed=progress["chunks_failed"],
            total=max(job.chunks_total, progress["chunks_total"]),
        ),
        error=job.error,
        error_report_url=report_url,
        download_url=download_url,
        retry_count=job.retry_count,
        max_retries=job.max_retries,
        next_attempt_at=job.run_after if job.status == jobs.JobStatus.RETRY_IN_QUEUE else None,
        notices=job.response.get("file_notices") or jobs.file_notices(conn, job_id),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def job_links(job: Job, settings: Settings) -> tuple[str | None, str | None]:
    """Presigned links (fresh on every read): the error report, a finished export's file."""
    report_key = job.response.get("error_report_key")
    report_url = (
        get_store().presigned_get(
            settings.s3_bucket, report_key, settings.download_url_expiry_seconds, "errors.csv"
        )
        if report_key
        else None
    )
    export_key = job.response.get("export_key")
    download_url = (
        get_store().presigned_get(
            settings.s3_bucket,
            export_key,
            settings.download_url_expiry_seconds,
            export_key.rsplit("/", 1)[-1],
        )
        if export_key and job.status == jobs.JobStatus.COMPLETED
        else None
    )
    return report_url, download_url


def legacy_view(conn: Connection[Any], job: Job, settings: Settings) -> LegacyJob:
    """A job created in the original's form, in the original's shape."""
    report_url, download_url = job_links(job, settings)
    row_errors = jobs.row_error_messages(conn, job.uuid, MAX_RUNTIME_ERRORS)
    return legacy_job(job, row_errors, error_report_url=report_url, download_url=download_url)
