"""Job data access: job rows, chunk manifests, progress, heartbeats (PostgreSQL).

Lifecycle of an import job:

    awaiting_upload ──(S3 event)──► in_queue ──(plan)──► processing
        ──(finalize)──► completed | completed_with_errors | failed

`open` is the state of a job created directly with an S3 key (no presigned upload); the
retry states (`retry_in_queue`, `retrying`) and `cancelled` belong to the job operations
built on this module. Status changes after the upload are guarded transitions of
`connectra.jobs.lifecycle` (a cancelled job stays cancelled); this module writes no status
of its own past `in_queue`. Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


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


SYSTEM_OWNER = "system"  # owner of a job whose object arrived without a presigned upload


@dataclass(frozen=True)
class ChunkRange:
    chunk_index: int
    start_byte: int
    end_byte: int


def _cursor(conn: Connection[Any]) -> Any:
    return conn.cursor(row_factory=dict_row)


def create_import_job(
    conn: Connection[Any],
    job_id: uuid.UUID,
    *,
    entity: str,
    owner_key_id: str,
    status: JobStatus,
    source_bucket: str | None = None,
    source_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Insert the job unless it exists (`ON CONFLICT DO NOTHING`); True when created."""
    created = conn.execute(
        "INSERT INTO jobs (uuid, job_type, entity, status, owner_key_id, source_bucket, "
        "source_key, data) VALUES (%s, 'import', %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (uuid) DO NOTHING",
        (job_id, entity, status.value, owner_key_id, source_bucket, source_key, Jsonb(data or {})),
    ).rowcount
    return bool(created)


def attach_source(
    conn: Connection[Any],
    job_id: uuid.UUID,
    *,
    bucket: str,
    key: str,
    etag: str,
    size: int | None,
) -> bool:
    """The uploaded object arrived: awaiting_upload → in_queue, once per job.

    True for the first event of this object; a replay (or an event for another object
    under the same job id) changes nothing and returns False.
    """
    updated = conn.execute(
        "UPDATE jobs SET status = 'in_queue', source_bucket = %s, source_key = %s, "
        "source_etag = %s, source_size = %s, updated_at = now() "
        "WHERE uuid = %s AND status = 'awaiting_upload' AND source_key = %s",
        (bucket, key, etag, size, job_id, key),
    ).rowcount
    return bool(updated)


def get_job(
    conn: Connection[Any], job_id: uuid.UUID, *, owner_key_id: str | None = None
) -> dict[str, Any] | None:
    """The job row; with `owner_key_id`, only when that caller owns it."""
    query = "SELECT * FROM jobs WHERE uuid = %s"
    params: list[Any] = [job_id]
    if owner_key_id is not None:
        query += " AND owner_key_id = %s"
        params.append(owner_key_id)
    row: dict[str, Any] | None = _cursor(conn).execute(query, params).fetchone()
    return row


def record_plan(
    conn: Connection[Any], job_id: uuid.UUID, *, source_size: int, plan: dict[str, Any]
) -> None:
    conn.execute(
        "UPDATE jobs SET data = data || %s, source_size = %s, heartbeat_at = now(), "
        "updated_at = now() WHERE uuid = %s",
        (Jsonb(plan), source_size, job_id),
    )


def record_chunks(conn: Connection[Any], job_id: uuid.UUID, chunks: Sequence[ChunkRange]) -> None:
    """The chunk manifest; re-recording (a retried step) keeps existing rows and progress."""
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO job_chunks (job_id, chunk_index, start_byte, end_byte) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (job_id, chunk_index) DO NOTHING",
            [(job_id, chunk.chunk_index, chunk.start_byte, chunk.end_byte) for chunk in chunks],
        )
    conn.execute(
        "UPDATE jobs SET chunks_total = %s, heartbeat_at = now(), updated_at = now() "
        "WHERE uuid = %s",
        (len(chunks), job_id),
    )


def start_chunk_attempt(conn: Connection[Any], job_id: uuid.UUID, chunk_index: int) -> None:
    """Count an attempt (committed on its own, so it survives a crash of the attempt)."""
    conn.execute(
        "UPDATE job_chunks SET status = 'running', attempts = attempts + 1, error = NULL, "
        "started_at = now(), heartbeat_at = now() "
        "WHERE job_id = %s AND chunk_index = %s AND status <> 'done'",
        (job_id, chunk_index),
    )


def lock_chunk(conn: Connection[Any], job_id: uuid.UUID, chunk_index: int) -> dict[str, Any] | None:
    """The chunk row, locked until the transaction ends: one attempt at a time."""
    row: dict[str, Any] | None = (
        _cursor(conn)
        .execute(
            "SELECT * FROM job_chunks WHERE job_id = %s AND chunk_index = %s FOR UPDATE",
            (job_id, chunk_index),
        )
        .fetchone()
    )
    return row


def complete_chunk(
    conn: Connection[Any],
    job_id: uuid.UUID,
    chunk_index: int,
    *,
    rows: int,
    inserted: int,
    updated: int,
    failed: int,
    duplicates: int,
) -> None:
    conn.execute(
        # clock_timestamp(): now() would be the start of the chunk's long transaction.
        "UPDATE job_chunks SET status = 'done', rows_total = %s, inserted_rows = %s, "
        "updated_rows = %s, failed_rows = %s, duplicate_rows = %s, "
        "finished_at = clock_timestamp(), heartbeat_at = clock_timestamp(), error = NULL "
        "WHERE job_id = %s AND chunk_index = %s",
        (rows, inserted, updated, failed, duplicates, job_id, chunk_index),
    )


def fail_chunk(conn: Connection[Any], job_id: uuid.UUID, chunk_index: int, error: str) -> None:
    conn.execute(
        "UPDATE job_chunks SET status = 'failed', error = %s, finished_at = now() "
        "WHERE job_id = %s AND chunk_index = %s AND status <> 'done'",
        (error[:2000], job_id, chunk_index),
    )


def heartbeat(conn: Connection[Any], job_id: uuid.UUID) -> None:
    conn.execute("UPDATE jobs SET heartbeat_at = now() WHERE uuid = %s", (job_id,))


def chunk_totals(conn: Connection[Any], job_id: uuid.UUID) -> dict[str, int]:
    """Sums over the job's chunks: rows, outcome counts and chunk progress."""
    row = (
        _cursor(conn)
        .execute(
            "SELECT count(*) AS chunks_total, "
            "count(*) FILTER (WHERE status = 'done') AS chunks_done, "
            "count(*) FILTER (WHERE status = 'failed') AS chunks_failed, "
            "COALESCE(sum(rows_total), 0) AS total, "
            "COALESCE(sum(inserted_rows), 0) AS inserted, "
            "COALESCE(sum(updated_rows), 0) AS updated, "
            "COALESCE(sum(failed_rows), 0) AS failed, "
            "COALESCE(sum(duplicate_rows), 0) AS duplicates "
            "FROM job_chunks WHERE job_id = %s",
            (job_id,),
        )
        .fetchone()
    )
    return {name: int(value) for name, value in (row or {}).items()}


def record_results(
    conn: Connection[Any],
    job_id: uuid.UUID,
    *,
    totals: dict[str, int],
    response: dict[str, Any],
) -> None:
    """A run's counts and response; the status is the caller's lifecycle transition."""
    conn.execute(
        "UPDATE jobs SET total_rows = %s, inserted_rows = %s, updated_rows = %s, "
        "failed_rows = %s, duplicate_rows = %s, response = response || %s, "
        "updated_at = now(), heartbeat_at = now() WHERE uuid = %s",
        (
            totals.get("total", 0),
            totals.get("inserted", 0),
            totals.get("updated", 0),
            totals.get("failed", 0),
            totals.get("duplicates", 0),
            Jsonb(response),
            job_id,
        ),
    )


def add_row_errors(
    conn: Connection[Any],
    job_id: uuid.UUID,
    chunk_index: int,
    errors: Sequence[tuple[int, str, str, str | None]],
) -> None:
    """Row errors `(line, column, message, raw)` of one chunk attempt (COPY: they are many).

    Two records never start on the same line, so (job, line, column) is unique per chunk;
    a retried attempt starts from a rolled-back transaction and writes them again.
    """
    if not errors:
        return
    with conn.cursor() as cursor:
        columns = "job_id, chunk_index, line, column_name, message, raw"
        with cursor.copy(f"COPY job_row_errors ({columns}) FROM STDIN") as copy:
            for line, column, message, raw in errors:
                copy.write_row((job_id, chunk_index, line, column, message, raw))


def add_file_notices(
    conn: Connection[Any], job_id: uuid.UUID, chunk_index: int, notices: dict[str, str]
) -> None:
    """File-level notices (e.g. an unknown column), once per job: line 0, keyed by column."""
    if not notices:
        return
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO job_row_errors (job_id, chunk_index, line, column_name, message) "
            "VALUES (%s, %s, 0, %s, %s) ON CONFLICT DO NOTHING",
            [(job_id, chunk_index, column, message) for column, message in sorted(notices.items())],
        )


def file_notices(conn: Connection[Any], job_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        _cursor(conn)
        .execute(
            "SELECT column_name AS column, message FROM job_row_errors "
            "WHERE job_id = %s AND line = 0 ORDER BY column_name",
            (job_id,),
        )
        .fetchall()
    )
    return rows


def record_legacy_request(
    conn: Connection[Any], job_id: uuid.UUID, request: dict[str, Any]
) -> None:
    """The job was asked for in the original's form: keep that form to answer in it."""
    conn.execute(
        "UPDATE jobs SET legacy_request = %s WHERE uuid = %s AND legacy_request IS NULL",
        (Jsonb(request), job_id),
    )


def row_error_messages(conn: Connection[Any], job_id: uuid.UUID, limit: int) -> list[str]:
    """The first `limit` row errors as text (`line 7, email: not a valid email`)."""
    rows = (
        _cursor(conn)
        .execute(
            "SELECT line, column_name, message FROM job_row_errors WHERE job_id = %s "
            "ORDER BY line, column_name LIMIT %s",
            (job_id, limit),
        )
        .fetchall()
    )
    return [
        ("file" if row["line"] == 0 else f"line {row['line']}")
        + (f", {row['column_name']}" if row["column_name"] else "")
        + f": {row['message']}"
        for row in rows
    ]
