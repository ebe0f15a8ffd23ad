"""Run one export job: plan the parts, write them in parallel, assemble, finish the job.

    in_queue → processing (or retry_in_queue → retrying)      guarded: one runner wins
    count the rows → N parts (uuid key ranges when the query is ordered by uuid alone,
    else one part, which keeps the query's order) → each part streams its pages into
    its own S3 object (a multipart upload) → the parts are assembled in order into
    exports/{job}/{entity}.{csv|ndjson}[.gz] → completed, with the row count and the key
    (the API presigns a fresh download URL from it on every read).

The orchestrating thread beats the job's heartbeat while the parts run and stops them
when the job is cancelled. Any failure aborts the uploads and fails the job (retryable).
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from pydantic import BaseModel

from connectra.consumers.gating import redact_rows
from connectra.db.pool import connection
from connectra.errors import Conflict, NotFound
from connectra.export.assemble import PartObject, assemble
from connectra.export.encode import RowEncoder
from connectra.export.multipart import GzipStream, MultipartWriter
from connectra.export.pages import count_rows, iter_pages, sorted_by_uuid_only
from connectra.export.ranges import KeyRange, PartSizing, part_count, split_key_space
from connectra.export.request import ExportFormat, ExportPlan, ExportRequest, plan_export
from connectra.jobs import lifecycle
from connectra.jobs.models import Job, JobStatus
from connectra.jobs.repository import get_job
from connectra.observability import bind_job, logger, metrics
from connectra.settings import Settings, get_settings
from connectra.storage import keys
from connectra.storage.s3 import get_store

HEARTBEAT_SECONDS = 20.0
CONTENT_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.NDJSON: "application/x-ndjson"}


class ExportCancelled(Exception):
    """The job was cancelled while it ran."""


class ExportSummary(BaseModel):
    job_id: uuid.UUID
    status: str
    rows: int
    parts: int = 0
    bytes: int = 0
    export_key: str | None = None
    download_url: str | None = None
    error: str | None = None


def export_key(job_id: uuid.UUID, request: ExportRequest, settings: Settings) -> str:
    suffix = request.format.value + (".gz" if request.gzip else "")
    return keys.export_key(settings.export_prefix, job_id, request.entity, suffix)


def part_key(job_id: uuid.UUID, index: int, settings: Settings) -> str:
    return keys.export_part_key(settings.export_prefix, job_id, index)


def download_name(request: ExportRequest) -> str:
    return f"{request.entity.value}.{request.format.value}" + (".gz" if request.gzip else "")


class _PartWriter:
    """Writes one part: its pages, encoded, optionally gzip-compressed, into S3."""

    def __init__(self, plan: ExportPlan, request: ExportRequest, stop: threading.Event) -> None:
        self.plan = plan
        self.request = request
        self.stop = stop
        self.settings = get_settings()
        self.encoder = RowEncoder(
            request.entity, request.format, plan.header, request.formula_escape
        )

    def content_type(self) -> str:
        return "application/gzip" if self.request.gzip else CONTENT_TYPES[self.request.format]

    def write(self, key: str, key_range: KeyRange | None, with_header: bool) -> PartObject:
        client = get_store().client
        rows = 0
        with MultipartWriter(
            client,
            self.settings.s3_bucket,
            key,
            self.content_type(),
            self.settings.export_part_bytes,
        ) as sink:
            stream: MultipartWriter | GzipStream = GzipStream(sink) if self.request.gzip else sink
            if with_header:
                stream.write(self.encoder.header_bytes())
            for page in iter_pages(self.plan.query, self.settings.export_page_rows, key_range):
                if self.stop.is_set():
                    raise ExportCancelled("the export was stopped")
                stream.write(self.encoder.encode(redact_rows(page, self.request.redacted_columns)))
                rows += len(page)
            if isinstance(stream, GzipStream):
                stream.finish()
        self.rows = rows
        return PartObject(key=key, size=sink.bytes_written)


def _run_part(
    plan: ExportPlan,
    request: ExportRequest,
    stop: threading.Event,
    key: str,
    key_range: KeyRange | None,
    with_header: bool,
) -> tuple[PartObject, int]:
    writer = _PartWriter(plan, request, stop)
    part = writer.write(key, key_range, with_header)
    return part, writer.rows


def _wait_with_heartbeat(
    job_id: uuid.UUID, futures: list[Future[tuple[PartObject, int]]], stop: threading.Event
) -> None:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=HEARTBEAT_SECONDS, return_when=FIRST_EXCEPTION)
        if any(future.exception() is not None for future in done):
            stop.set()  # the other parts stop at their next page
            wait(pending)
            return
        with connection() as conn:
            status = lifecycle.heartbeat(conn, job_id)
        if status is JobStatus.CANCELLED:
            stop.set()


def _write_parts(
    job_id: uuid.UUID,
    plan: ExportPlan,
    request: ExportRequest,
    stop: threading.Event,
    assignments: list[tuple[str, KeyRange | None, bool]],
) -> list[tuple[PartObject, int]]:
    with ThreadPoolExecutor(max_workers=len(assignments), thread_name_prefix="export") as pool:
        futures = [
            pool.submit(_run_part, plan, request, stop, key, key_range, header)
            for key, key_range, header in assignments
        ]
        _wait_with_heartbeat(job_id, futures, stop)
    errors = [future.exception() for future in futures]
    # A part's own error explains the run; the others then merely stopped.
    real = [error for error in errors if error and not isinstance(error, ExportCancelled)]
    if real:
        raise real[0]
    if stop.is_set() or any(errors):
        raise ExportCancelled("the job was cancelled")
    return [future.result() for future in futures]


def _delete_quietly(keys: list[str]) -> None:
    try:
        get_store().client.delete_objects(
            Bucket=get_settings().s3_bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
    except Exception:  # cleanup only: the lifecycle rule on exports/ removes leftovers
        logger.warning("could not delete export parts", extra={"keys": keys[:5]}, exc_info=True)


def write_export(job_id: uuid.UUID, request: ExportRequest) -> ExportSummary:
    """Write the file of an export (no job state changes): the parts and their assembly."""
    settings = get_settings()
    plan = plan_export(request)
    parts = 1
    if sorted_by_uuid_only(plan.query):
        sizing = PartSizing(settings.export_rows_per_part, settings.export_max_parts)
        parts = part_count(count_rows(plan.query), sizing)
    final_key = export_key(job_id, request, settings)
    stop = threading.Event()
    assignments: list[tuple[str, KeyRange | None, bool]]
    if parts == 1:
        assignments = [(final_key, None, True)]
    else:
        assignments = [
            (part_key(job_id, key_range.index, settings), key_range, key_range.index == 0)
            for key_range in split_key_space(parts)
        ]
    try:
        results = _write_parts(job_id, plan, request, stop, assignments)
        if parts == 1:
            size = results[0][0].size
        else:
            writer = MultipartWriter(
                get_store().client,
                settings.s3_bucket,
                final_key,
                _PartWriter(plan, request, stop).content_type(),
                settings.export_part_bytes,
            )
            size = assemble(writer, settings.s3_bucket, [part for part, _ in results])
    except BaseException:
        if parts > 1:
            _delete_quietly([key for key, _, _ in assignments])
        raise
    rows = sum(count for _, count in results)
    return ExportSummary(
        job_id=job_id,
        status=JobStatus.COMPLETED.value,
        rows=rows,
        parts=parts,
        bytes=size,
        export_key=final_key,
    )


def presigned_download(key: str, request: ExportRequest) -> str:
    settings = get_settings()
    return get_store().presigned_get(
        settings.s3_bucket, key, settings.download_url_expiry_seconds, download_name(request)
    )


def _finished_summary(job: Job) -> ExportSummary:
    response = job.response or {}
    key = response.get("export_key")
    request = ExportRequest.model_validate(job.data)
    return ExportSummary(
        job_id=job.uuid,
        status=job.status,
        rows=int(job.total_rows),
        parts=int(response.get("parts", 0)),
        bytes=int(response.get("bytes", 0)),
        export_key=key,
        download_url=presigned_download(key, request) if key else None,
        error=job.error,
    )


def run_export_job(job_id: uuid.UUID) -> ExportSummary:
    """Take the job (guarded), write its file, and end it completed, failed or cancelled."""
    bind_job(job_id)
    with connection() as conn:
        job = lifecycle.start(conn, job_id)
        current = job or get_job(conn, job_id)
    if current is None:
        raise NotFound(f"job {job_id} not found")
    if current.job_type != "export":
        raise Conflict(f"job {job_id} is not an export")
    if job is None:
        if current.status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
            return _finished_summary(current)  # a replayed invocation: nothing to do
        raise Conflict(f"job {job_id} is {current.status}: it cannot start now")

    request = ExportRequest.model_validate(current.data)
    try:
        summary = write_export(job_id, request)
    except ExportCancelled:
        logger.info("export cancelled")
        with connection() as conn:
            cancelled = get_job(conn, job_id)
        assert cancelled is not None
        return _finished_summary(cancelled)
    except Exception as exc:
        logger.exception("export failed")
        with connection() as conn:
            lifecycle.fail(conn, job_id, f"{type(exc).__name__}: {exc}")
        raise
    response = {
        "export_key": summary.export_key,
        "parts": summary.parts,
        "bytes": summary.bytes,
        "format": request.format.value,
        "gzip": request.gzip,
    }
    with connection() as conn:
        finished = lifecycle.finish(
            conn, job_id, JobStatus.COMPLETED, total_rows=summary.rows, response=response
        )
    if finished is None:  # cancelled at the last moment: the file stays, the job says so
        with connection() as conn:
            latest = get_job(conn, job_id)
        assert latest is not None
        return _finished_summary(latest)
    metrics.add_metric(name="ExportRows", unit="Count", value=summary.rows)
    logger.info("export finished", extra=summary.model_dump(mode="json"))
    assert summary.export_key is not None
    return summary.model_copy(
        update={"download_url": presigned_download(summary.export_key, request)}
    )
