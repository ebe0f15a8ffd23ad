"""Job data access: every SQL statement on jobs, their chunk manifests, progress, row
errors and heartbeats, apart from the guarded status transitions of
`connectra.jobs.lifecycle` (the rules themselves, written as UPDATE … WHERE status = ANY).

Rows come back as `connectra.jobs.models.Job`. Status changes after the upload are
lifecycle transitions (a cancelled job stays cancelled); this module writes no status of
its own past `in_queue`. Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from connectra.jobs.models import SYSTEM_OWNER, ChunkRange, ChunkStatus, Job, JobStatus, job_of

__all__ = ["SYSTEM_OWNER", "ChunkRange", "Job", "JobStatus"]


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
) -> Job | None:
    """The job; with `owner_key_id`, only when that caller owns it."""
    query = "SELECT * FROM jobs WHERE uuid = %s"
    params: list[Any] = [job_id]
    if owner_key_id is not None:
        query += " AND owner_key_id = %s"
        params.append(owner_key_id)
    return job_of(_cursor(conn).execute(query, params).fetchone())


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


# -- creation and listing (the job service) --------------------------------------------------


def create_job(
    conn: Connection[Any],
    job_id: uuid.UUID,
    *,
    job_type: str,
    entity: str,
    owner_key_id: str,
    idempotency_key: str | None,
    request_hash: str,
    source: dict[str, Any],
    data: dict[str, Any],
    max_retries: int,
    retry_interval: int,
) -> Job | None:
    """Insert an `open` job; None when this caller's idempotency key already made one.
    Another job with the same id raises UniqueViolation."""
    row = (
        _cursor(conn)
        .execute(
            "INSERT INTO jobs (uuid, job_type, entity, status, owner_key_id, idempotency_key, "
            "request_hash, source_bucket, source_key, source_etag, source_size, data, "
            "max_retries, retry_interval) "
            "VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
            "DO NOTHING RETURNING *",
            (
                job_id,
                job_type,
                entity,
                owner_key_id,
                idempotency_key,
                request_hash,
                source["bucket"],
                source["key"],
                source["etag"],
                source["size"],
                Jsonb(data),
                max_retries,
                retry_interval,
            ),
        )
        .fetchone()
    )
    return job_of(row)


def find_by_idempotency_key(
    conn: Connection[Any], owner_key_id: str, idempotency_key: str | None
) -> Job | None:
    return job_of(
        _cursor(conn)
        .execute(
            "SELECT * FROM jobs WHERE owner_key_id = %s AND idempotency_key = %s",
            (owner_key_id, idempotency_key),
        )
        .fetchone()
    )


def list_page(
    conn: Connection[Any],
    owner_key_id: str,
    *,
    statuses: Sequence[JobStatus] | None,
    legacy_statuses: Sequence[str] | None,
    job_type: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Job]:
    """Up to `limit` of the caller's jobs, newest first, after the keyset `after`.

    With `legacy_statuses`, jobs created in the original's form match by those states
    instead (the states they are reported as, see jobs/legacy.py)."""
    conditions = ["owner_key_id = %s"]
    params: list[Any] = [owner_key_id]
    if statuses and legacy_statuses is not None:
        conditions.append(
            "((legacy_request IS NULL AND status = ANY(%s)) "
            "OR (legacy_request IS NOT NULL AND status = ANY(%s)))"
        )
        params.extend([[status.value for status in statuses], list(legacy_statuses)])
    elif statuses:
        conditions.append("status = ANY(%s)")
        params.append([status.value for status in statuses])
    if job_type:
        conditions.append("job_type = %s")
        params.append(job_type)
    if after:
        conditions.append("(created_at, uuid) < (%s, %s)")
        params.extend(after)
    params.append(limit)
    rows = (
        _cursor(conn)
        .execute(
            f"SELECT * FROM jobs WHERE {' AND '.join(conditions)} "
            "ORDER BY created_at DESC, uuid DESC LIMIT %s",
            params,
        )
        .fetchall()
    )
    return [Job.model_validate(row) for row in rows]


# -- the sweeper's selections ----------------------------------------------------------------


def lock_stalled(
    conn: Connection[Any], heartbeat_timeout_seconds: int, limit: int
) -> list[uuid.UUID]:
    """Running jobs whose job and chunk heartbeats all stopped, locked (SKIP LOCKED)."""
    rows = (
        _cursor(conn)
        .execute(
            "SELECT j.uuid FROM jobs j WHERE j.status = ANY(%s) AND GREATEST("
            "  j.heartbeat_at, j.started_at, j.updated_at,"
            "  (SELECT max(c.heartbeat_at) FROM job_chunks c WHERE c.job_id = j.uuid)"
            ") < now() - make_interval(secs => %s) "
            "ORDER BY j.updated_at LIMIT %s FOR UPDATE OF j SKIP LOCKED",
            (
                [JobStatus.PROCESSING.value, JobStatus.RETRYING.value],
                heartbeat_timeout_seconds,
                limit,
            ),
        )
        .fetchall()
    )
    return [row["uuid"] for row in rows]


def fail_abandoned_chunks(conn: Connection[Any], job_id: uuid.UUID, error: str) -> None:
    """The job's chunks left `running` fail, so a retry re-runs them. A chunk row still
    locked belongs to a live transaction: its worker is alive (SKIP LOCKED leaves it)."""
    conn.execute(
        "UPDATE job_chunks SET status = 'failed', error = %s, finished_at = now() "
        "WHERE (job_id, chunk_index) IN (SELECT job_id, chunk_index FROM job_chunks "
        "WHERE job_id = %s AND status = 'running' FOR UPDATE SKIP LOCKED)",
        (error, job_id),
    )


def lock_launchable(conn: Connection[Any], only: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    """New `open` jobs and queued retries whose back-off passed and whose attempt was not
    launched yet (or just `only`), locked (SKIP LOCKED)."""
    rows = (
        _cursor(conn)
        .execute(
            "SELECT uuid FROM jobs WHERE (status = 'open' OR (status = 'retry_in_queue' AND "
            "(response->>'launched_attempt')::int IS DISTINCT FROM retry_count AND "
            "(run_after IS NULL OR run_after <= now()))) "
            "AND (%s::uuid IS NULL OR uuid = %s::uuid) "
            "ORDER BY updated_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (only, only, limit),
        )
        .fetchall()
    )
    return [row["uuid"] for row in rows]


def record_launched_attempt(conn: Connection[Any], job_id: uuid.UUID) -> Job | None:
    """Claim a queued retry's launch: its attempt is recorded as launched."""
    return job_of(
        _cursor(conn)
        .execute(
            "UPDATE jobs SET response = response || jsonb_build_object("
            "'launched_attempt', retry_count), updated_at = now() "
            "WHERE uuid = %s AND status = 'retry_in_queue' RETURNING *",
            (job_id,),
        )
        .fetchone()
    )


def chunk_statuses(conn: Connection[Any], job_id: uuid.UUID) -> dict[int, ChunkStatus]:
    """chunk_index → status of the job's manifest (empty: no manifest yet)."""
    rows = (
        _cursor(conn)
        .execute("SELECT chunk_index, status FROM job_chunks WHERE job_id = %s", (job_id,))
        .fetchall()
    )
    return {row["chunk_index"]: ChunkStatus(row["status"]) for row in rows}
