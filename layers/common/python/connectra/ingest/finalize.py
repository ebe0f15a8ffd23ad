"""Finalize: job totals, the error report in S3 and the final status.

Status: `failed` when the run failed (a step gave up, or a chunk is not done),
`completed_with_errors` when some rows were refused, else `completed`. The status change
is a guarded lifecycle transition: a job cancelled meanwhile stays `cancelled` (its counts
and report are still recorded), a failure schedules the next retry (`run_after`, back-off)
and a replayed Finalize leaves a finished job as it is. A failed job keeps its key ledger
so a retry of its failed chunks still resolves duplicates last-wins.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import uuid
from typing import Any

from psycopg import Connection

from connectra.db import outbox
from connectra.db.pool import connection
from connectra.errors import NotFound
from connectra.ingest.combined import LEDGER_TABLE, apply_final_values, company_totals
from connectra.ingest.events import FinalizeInput, ImportSummary
from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from connectra.observability import logger, metrics
from connectra.settings import get_settings
from connectra.storage import keys
from connectra.storage.s3 import ObjectStore

REPORT_COLUMNS = ("line", "column", "message", "raw")


def report_key(job_id: uuid.UUID) -> str:
    return keys.report_key(get_settings().report_prefix, job_id)


def _describe_error(error: Any) -> str:
    """Step Functions' Catch gives `{Error, Cause}`; keep what a person can read."""
    if isinstance(error, dict):
        cause = error.get("Cause") or error.get("cause")
        if isinstance(cause, str):
            try:
                parsed = json.loads(cause)
                cause = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause
            except ValueError:
                pass
        name = error.get("Error") or error.get("error") or "error"
        return f"{name}: {cause}" if cause else str(name)
    return str(error) if error is not None else "the import failed"


# Failures no retry can mend: the source object changed after its upload event, or the
# file cannot be read at all (empty, no header row).
FINAL_ERRORS = frozenset({"SourceChanged", "UnreadableFile"})


def _is_final(error: Any) -> bool:
    return isinstance(error, dict) and (error.get("Error") or error.get("error")) in FINAL_ERRORS


def write_error_report(conn: Connection[Any], job_id: uuid.UUID, store: ObjectStore) -> int:
    """Stream the job's row errors (file notices first, then by line) into the report CSV."""
    written = 0
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        with conn.cursor(name=f"report_{job_id.hex}") as cursor:
            cursor.itersize = 5_000
            cursor.execute(
                "SELECT line, column_name, message, raw FROM job_row_errors "
                "WHERE job_id = %s ORDER BY line, column_name",
                (job_id,),
            )
            for record in cursor:
                values = list(record.values()) if isinstance(record, dict) else list(record)
                writer.writerow(values)
                written += 1
        text.flush()
        text.detach()  # keep the spool open: the upload reads it
        if written:
            spool.seek(0)
            store.put_file(get_settings().s3_bucket, report_key(job_id), spool, "text/csv")  # type: ignore[arg-type]
    return written


def finalize_job(event: FinalizeInput, store: ObjectStore) -> ImportSummary:
    settings = get_settings()
    with connection() as conn:
        job = jobs.get_job(conn, event.job_id)
        if job is None:
            raise NotFound(f"job {event.job_id} not found")
        totals = jobs.chunk_totals(conn, event.job_id)
        incomplete = totals["chunks_done"] < totals["chunks_total"]
        failed_run = event.failed or incomplete or job.status == jobs.JobStatus.FAILED
        error = _run_error(event, totals, incomplete)
        report_rows = write_error_report(conn, event.job_id, store)
        status = _outcome(failed_run, totals)
        key = report_key(event.job_id) if report_rows else None
        response = _record_results(conn, event.job_id, totals, key, report_rows)
        status, error = _transition(conn, event, status, error, totals, response)
        if status not in (jobs.JobStatus.FAILED, jobs.JobStatus.RETRY_IN_QUEUE):
            _drop_key_ledger(conn, event.job_id)
    url = (
        store.presigned_get(
            settings.s3_bucket, key, settings.download_url_expiry_seconds, "errors.csv"
        )
        if key
        else None
    )
    metrics.add_metric(name="ImportRows", unit="Count", value=totals["total"])
    metrics.add_metric(name="ImportFailedRows", unit="Count", value=totals["failed"])
    logger.info("import finished", extra={"status": status.value, **totals})
    return _import_summary(event.job_id, status, totals, response["companies"], error, key, url)


def _run_error(event: FinalizeInput, totals: dict[str, int], incomplete: bool) -> str | None:
    if event.failed:
        return _describe_error(event.error)
    if incomplete:
        return f"{totals['chunks_total'] - totals['chunks_done']} chunk(s) did not finish"
    return None


def _outcome(failed_run: bool, totals: dict[str, int]) -> jobs.JobStatus:
    if failed_run:
        return jobs.JobStatus.FAILED
    if totals["failed"] > 0:
        return jobs.JobStatus.COMPLETED_WITH_ERRORS
    return jobs.JobStatus.COMPLETED


def _record_results(
    conn: Connection[Any],
    job_id: uuid.UUID,
    totals: dict[str, int],
    key: str | None,
    report_rows: int,
) -> dict[str, Any]:
    """Applies the combined rows' final company values, then records the job's results."""
    # Combined rows: each company's last row, now that the whole file is read.
    changed = apply_final_values(conn, job_id)
    if changed and get_settings().search_backend == "opensearch":
        outbox.enqueue(conn, "companies", changed, "upsert")
    companies = company_totals(conn, job_id)
    response = {
        "error_report_key": key,
        "error_report_rows": report_rows,
        "file_notices": jobs.file_notices(conn, job_id),
        "companies": companies,
    }
    jobs.record_results(conn, job_id, totals=totals, response=response)
    return response


def _transition(
    conn: Connection[Any],
    event: FinalizeInput,
    status: jobs.JobStatus,
    error: str | None,
    totals: dict[str, int],
    response: dict[str, Any],
) -> tuple[jobs.JobStatus, str | None]:
    """The guarded status change; returns the status (and error) the job ends with."""
    if status is jobs.JobStatus.FAILED:
        moved = lifecycle.fail(
            conn, event.job_id, error or "the import failed", final=_is_final(event.error)
        )
        if moved is not None:  # retry_in_queue while retries remain, else failed
            status = jobs.JobStatus(moved.status)
    else:
        moved = lifecycle.finish(
            conn, event.job_id, status, total_rows=totals["total"], response=response
        )
    if moved is None:  # cancelled meanwhile, or already finished: it keeps its status
        current = jobs.get_job(conn, event.job_id)
        assert current is not None
        status = jobs.JobStatus(current.status)
        error = current.error
        logger.info(
            "import finalized without a status change",
            extra={"status": status.value},
        )
    return status, error


def _drop_key_ledger(conn: Connection[Any], job_id: uuid.UUID) -> None:
    conn.execute("DELETE FROM import_keys WHERE job_id = %s", (job_id,))
    conn.execute(f"DELETE FROM {LEDGER_TABLE} WHERE job_id = %s", (job_id,))


def _import_summary(
    job_id: uuid.UUID,
    status: jobs.JobStatus,
    totals: dict[str, int],
    companies: dict[str, int],
    error: str | None,
    key: str | None,
    url: str | None,
) -> ImportSummary:
    return ImportSummary(
        job_id=job_id,
        status=status.value,
        total=totals["total"],
        inserted=totals["inserted"],
        updated=totals["updated"],
        failed=totals["failed"],
        duplicates=totals["duplicates"],
        chunks_total=totals["chunks_total"],
        chunks_done=totals["chunks_done"],
        companies_inserted=companies["inserted"],
        companies_updated=companies["updated"],
        error=error,
        error_report_key=key,
        error_report_url=url,
    )
