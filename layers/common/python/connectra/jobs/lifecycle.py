"""Job states, the transitions allowed between them, and transitions guarded in SQL.

    awaiting_upload ─► in_queue ─► processing ─► completed | completed_with_errors
    open ────────────► in_queue      │
                                     └─ fails ─► retry_in_queue (retries left) | failed
    retry_in_queue ─► retrying ─► completed | completed_with_errors
                         └─ fails ─► retry_in_queue (retries left) | failed
    failed ─► retry_in_queue (an operator's retry)
    any state that has not ended ─► cancelled (a failed job too: it stops its retries)

`failed` is final: a failure with retries left is `retry_in_queue` (issue 11 item 6),
with the error kept and `run_after` the end of its back-off, so a client polling the job
tells a failure that will be retried from one that will not.

Every transition is one `UPDATE … WHERE uuid = %s AND status = ANY(<allowed sources>)
RETURNING *`: when two workers race for the same job, PostgreSQL serializes the two
updates on the row and the second no longer matches its WHERE, so exactly one wins and
the loser learns it from the empty result; no status is ever lost or overwritten.

Retries back off exponentially: a job that fails after `retry_count` retries may run
again at `now + retry_interval * 2^retry_count` (capped), until `max_retries` is reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from connectra.jobs.models import FINISHED_STATUSES, Job, JobStatus, job_of

S = JobStatus
MAX_BACKOFF_SECONDS = 24 * 3600
MAX_ERROR_LENGTH = 4000

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.AWAITING_UPLOAD: frozenset({S.IN_QUEUE, S.CANCELLED, S.FAILED}),
    S.OPEN: frozenset({S.IN_QUEUE, S.CANCELLED, S.FAILED}),
    S.IN_QUEUE: frozenset({S.PROCESSING, S.CANCELLED, S.FAILED, S.RETRY_IN_QUEUE}),
    S.PROCESSING: frozenset(
        {S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.RETRY_IN_QUEUE, S.CANCELLED}
    ),
    S.FAILED: frozenset({S.RETRY_IN_QUEUE, S.CANCELLED}),
    # retry_in_queue → retry_in_queue: the launch of a retry failed and retries remain.
    S.RETRY_IN_QUEUE: frozenset({S.RETRYING, S.RETRY_IN_QUEUE, S.CANCELLED, S.FAILED}),
    S.RETRYING: frozenset(
        {S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.FAILED, S.RETRY_IN_QUEUE, S.CANCELLED}
    ),
    S.COMPLETED: frozenset(),
    S.COMPLETED_WITH_ERRORS: frozenset(),
    S.CANCELLED: frozenset(),
}

RUNNING_STATUSES = frozenset({S.PROCESSING, S.RETRYING})


def can_transition(source: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[source]


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The states a job may be in to move to `target`."""
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


def backoff_seconds(retry_interval: int, retry_count: int) -> int:
    """Delay before the next retry of a job that has already been retried `retry_count` times."""
    return int(min(MAX_BACKOFF_SECONDS, retry_interval * 2 ** max(0, retry_count)))


# SQL of the same back-off, on the row being updated (keep in step with backoff_seconds).
_BACKOFF_SQL = (
    f"LEAST({MAX_BACKOFF_SECONDS}, retry_interval * power(2, GREATEST(retry_count, 0)))"
    " * interval '1 second'"
)


def _values(statuses: Iterable[JobStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def transition(
    conn: Connection[Any],
    job_id: uuid.UUID,
    target: JobStatus,
    *,
    sources: Iterable[JobStatus] | None = None,
    owner_key_id: str | None = None,
    error: str | None = None,
    set_sql: str = "",
    params: Iterable[Any] = (),
    where_sql: str = "",
) -> Job | None:
    """Move the job to `target` when it is in one of `sources` (default: every state
    allowed to); the updated row, or None when the job was not in such a state (or
    not the owner's). `set_sql` adds assignments (`, col = %s …`) with their `params`;
    `where_sql` adds parameterless conditions (` AND …`)."""
    allowed = sources_of(target) if sources is None else frozenset(sources)
    illegal = [source for source in allowed if not can_transition(source, target)]
    if illegal:
        raise ValueError(f"{_values(illegal)} → {target.value} is not an allowed transition")
    ending = target in FINISHED_STATUSES
    succeeded = target in (S.COMPLETED, S.COMPLETED_WITH_ERRORS)
    statement = (
        "UPDATE jobs SET status = %s, updated_at = now(), "
        "error = CASE WHEN %s THEN NULL ELSE COALESCE(%s, error) END, "
        "started_at = CASE WHEN %s THEN COALESCE(started_at, now()) ELSE started_at END, "
        "finished_at = CASE WHEN %s THEN now() ELSE NULL END, "
        "heartbeat_at = CASE WHEN %s THEN now() ELSE heartbeat_at END"
        f"{set_sql} WHERE uuid = %s AND status = ANY(%s){where_sql}"
    )
    arguments: list[Any] = [
        target.value,
        succeeded,
        error[:MAX_ERROR_LENGTH] if error else None,
        target in RUNNING_STATUSES,
        ending,
        target in RUNNING_STATUSES,
        *params,
        job_id,
        _values(allowed),
    ]
    if owner_key_id is not None:
        statement += " AND owner_key_id = %s"
        arguments.append(owner_key_id)
    row = (
        conn.cursor(row_factory=dict_row).execute(statement + " RETURNING *", arguments).fetchone()
    )
    return job_of(row)


# -- the operations the product performs ---------------------------------------------------


def enqueue(conn: Connection[Any], job_id: uuid.UUID) -> Job | None:
    """A new job is handed to its runner: open → in_queue."""
    return transition(conn, job_id, S.IN_QUEUE, sources=[S.OPEN])


def start(conn: Connection[Any], job_id: uuid.UUID) -> Job | None:
    """A runner takes the job: in_queue → processing, or retry_in_queue → retrying."""
    return transition(conn, job_id, S.PROCESSING, sources=[S.IN_QUEUE]) or transition(
        conn, job_id, S.RETRYING, sources=[S.RETRY_IN_QUEUE]
    )


def finish(
    conn: Connection[Any],
    job_id: uuid.UUID,
    status: JobStatus,
    *,
    total_rows: int,
    response: dict[str, Any],
) -> Job | None:
    """A running job ends well (completed or completed_with_errors) with its results."""
    if status not in (S.COMPLETED, S.COMPLETED_WITH_ERRORS):
        raise ValueError("finish() ends a job well; use fail() for a failure")
    return transition(
        conn,
        job_id,
        status,
        sources=RUNNING_STATUSES,
        set_sql=", total_rows = %s, response = response || %s, run_after = NULL",
        params=[total_rows, Jsonb(response)],
    )


# The states a failure moves a job out of. Not retry_in_queue: a stale run (its worker
# declared lost, the job already queued for retry) must not fail the job again; the
# launcher passes `relaunch=True` when the launch of a queued retry itself failed.
_RETRYABLE_SOURCES = frozenset({S.IN_QUEUE, S.PROCESSING, S.RETRYING})
_FAILING_SOURCES = _RETRYABLE_SOURCES | {S.AWAITING_UPLOAD, S.OPEN}


def fail(
    conn: Connection[Any],
    job_id: uuid.UUID,
    error: str,
    *,
    relaunch: bool = False,
    final: bool = False,
) -> Job | None:
    """The job failed: `retry_in_queue` with its back-off when retries remain (and it was
    queued or running, and the failure is not `final`), else `failed`, final. The error
    is kept either way."""
    extra = {S.RETRY_IN_QUEUE} if relaunch else set()
    retried = (
        None
        if final
        else transition(
            conn,
            job_id,
            S.RETRY_IN_QUEUE,
            sources=_RETRYABLE_SOURCES | extra,
            error=error or "failed",
            set_sql=f", retry_count = retry_count + 1, run_after = now() + {_BACKOFF_SQL}",
            where_sql=" AND retry_count < max_retries",
        )
    )
    if retried is not None:
        return retried
    return transition(
        conn,
        job_id,
        S.FAILED,
        sources=_FAILING_SOURCES | extra,
        error=error or "failed",
        set_sql=", run_after = NULL",
    )


def fail_for_good(conn: Connection[Any], job_id: uuid.UUID, error: str) -> Job | None:
    """The job cannot succeed by retrying (its file is over the size limit): failed, with
    no retries left."""
    return transition(
        conn, job_id, S.FAILED, error=error, set_sql=", max_retries = retry_count, run_after = NULL"
    )


def request_retry(
    conn: Connection[Any], job_id: uuid.UUID, *, owner_key_id: str | None = None
) -> Job | None:
    """An operator's retry of a failed job: queued at once, whatever retries it has used."""
    return transition(
        conn,
        job_id,
        S.RETRY_IN_QUEUE,
        owner_key_id=owner_key_id,
        set_sql=", retry_count = retry_count + 1, run_after = NULL",
    )


# A failed job is due when its back-off has passed. `run_after` is set by fail(); a job
# failed by another writer without it falls back to the back-off from when it ended.
DUE_RETRY_SQL = (
    " AND retry_count < max_retries"
    f" AND COALESCE(run_after, COALESCE(finished_at, updated_at) + {_BACKOFF_SQL}) <= now()"
)


def lock_due_retries(conn: Connection[Any], limit: int) -> list[uuid.UUID]:
    """Failed jobs whose back-off has passed with retries left, locked (SKIP LOCKED)."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT uuid FROM jobs WHERE status = 'failed'{DUE_RETRY_SQL} "
            "ORDER BY run_after NULLS FIRST LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        .fetchall()
    )
    return [row["uuid"] for row in rows]


def schedule_due_retry(conn: Connection[Any], job_id: uuid.UUID) -> Job | None:
    """The sweeper's retry of a failed job whose back-off has passed and retries remain
    (checked again here: another sweeper may have retried it since it was selected)."""
    return transition(
        conn,
        job_id,
        S.RETRY_IN_QUEUE,
        sources=[S.FAILED],
        set_sql=", retry_count = retry_count + 1, run_after = NULL",
        where_sql=DUE_RETRY_SQL,
    )


def claim_retry(conn: Connection[Any], job_id: uuid.UUID) -> Job | None:
    """The one runner that will retry the job: retry_in_queue → retrying."""
    return transition(conn, job_id, S.RETRYING, sources=[S.RETRY_IN_QUEUE])


def cancel(
    conn: Connection[Any], job_id: uuid.UUID, *, owner_key_id: str | None = None
) -> Job | None:
    return transition(
        conn, job_id, S.CANCELLED, owner_key_id=owner_key_id, set_sql=", run_after = NULL"
    )


def heartbeat(conn: Connection[Any], job_id: uuid.UUID) -> JobStatus | None:
    """Record that the runner is alive; returns the job's status (a runner stops when
    it reads `cancelled`)."""
    row = conn.execute(
        "UPDATE jobs SET heartbeat_at = now() WHERE uuid = %s RETURNING status", (job_id,)
    ).fetchone()
    if row is None:
        return None
    value = row["status"] if isinstance(row, dict) else row[0]
    return JobStatus(value)
