"""The job and its states: the typed form of a `jobs` row, read by every layer above.

Lifecycle of an import job:

    awaiting_upload ──(S3 event)──► in_queue ──(plan)──► processing
        ──(finalize)──► completed | completed_with_errors | failed

`open` is the state of a job created directly with an S3 key (no presigned upload); the
retry states (`retry_in_queue`, `retrying`) and `cancelled` belong to the job operations.
The transitions allowed between states are `connectra.jobs.lifecycle`'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from connectra.models.fields import Entity


class JobStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    OPEN = "open"
    IN_QUEUE = "in_queue"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    RETRY_IN_QUEUE = "retry_in_queue"
    RETRYING = "retrying"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_ERRORS,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    }
)


class ChunkStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JobType = Literal["import", "export"]

SYSTEM_OWNER = "system"  # owner of a job whose object arrived without a presigned upload


@dataclass(frozen=True)
class ChunkRange:
    chunk_index: int
    start_byte: int
    end_byte: int


class Job(BaseModel):
    """One `jobs` row (`SELECT *` / `RETURNING *`), validated when read."""

    model_config = ConfigDict(frozen=True)

    uuid: uuid.UUID
    job_type: JobType
    entity: Entity
    status: JobStatus
    owner_key_id: str
    idempotency_key: str | None = None
    request_hash: str | None = None
    source_bucket: str | None = None
    source_key: str | None = None
    source_etag: str | None = None
    source_size: int | None = None
    data: dict[str, Any]
    response: dict[str, Any]
    total_rows: int = 0
    inserted_rows: int = 0
    updated_rows: int = 0
    failed_rows: int = 0
    duplicate_rows: int = 0
    chunks_total: int = 0
    retry_count: int = 0
    max_retries: int = 0
    retry_interval: int = 0
    run_after: datetime | None = None
    heartbeat_at: datetime | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    legacy_request: dict[str, Any] | None = None  # asked for in the original's form


def job_of(row: dict[str, Any] | None) -> Job | None:
    """The Job of a row, None for no row."""
    return None if row is None else Job.model_validate(row)
