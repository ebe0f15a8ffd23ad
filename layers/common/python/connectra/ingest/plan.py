"""Planning steps: Plan (size, header, byte ranges), Count (per range), Boundaries.

Plan cuts the object into byte ranges without looking inside them. Count reads each
range once, in parallel, and counts its quote and newline bytes. Boundaries turns those
counts into each range's starting quote parity and line number (prefix sums), which is
all a chunk worker needs to find its first record on its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from connectra.db.pool import connection
from connectra.errors import ConnectraError, NotFound
from connectra.ingest.events import (
    BoundariesInput,
    BoundariesOutput,
    ChunkItem,
    PlanInput,
    PlanOutput,
    RangeCount,
    RangeItem,
)
from connectra.ingest.mapping import HeaderRefused, check_header
from connectra.ingest.parse import FileFormat, detect_format
from connectra.ingest.splitter import RangeCounts, Record, count_bytes, range_starts, split_range
from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from connectra.jobs.models import Job
from connectra.models.fields import Entity
from connectra.observability import logger
from connectra.settings import get_settings
from connectra.storage.keys import manifest_key
from connectra.storage.s3 import ByteRangeReader, ObjectInfo, ObjectStore, SourceChanged

SNIFF_BYTES = 64 * 1024


class UnreadableFile(ConnectraError):
    """The file as a whole cannot be imported (empty, no header, no known column)."""

    code = "unreadable_file"


class JobCancelled(ConnectraError):
    """The job was cancelled before its run got going: nothing is imported."""

    code = "job_cancelled"


def check_source(job: Job, info: ObjectInfo) -> None:
    """The object must still be the version whose S3 event created the job.

    The job records the ETag of its first event (start.py); another upload to the same
    key replaces the object, and importing it would import a file nobody asked for.
    Jobs created without an event (no recorded ETag) import what is there.
    """
    expected = job.source_etag
    if expected and expected not in (info.etag, info.version_id):
        raise SourceChanged(
            f"the object {info.key} changed after its upload event (ETag {info.etag}, "
            f"expected {expected}): another version was written to the same key; "
            "upload the file again to import it"
        )


def cut_ranges(size: int, chunk_size: int) -> list[tuple[int, int]]:
    if chunk_size < 1:
        raise ValueError("chunk size must be at least 1 byte")
    return [(start, min(start + chunk_size, size)) for start in range(0, size, chunk_size)]


def first_record(
    reader: ByteRangeReader, bucket: str, key: str, size: int, etag: str | None = None
) -> Record | None:
    """The header (the first non-blank record), reading only as far as its end."""
    pieces = reader.iter_range(bucket, key, 0, None, if_match=etag)
    limit = get_settings().ingest_max_record_bytes
    return next(iter(split_range(pieces, 0, max(size, 1), max_record_bytes=limit)), None)


def _require_job(job_id: uuid.UUID) -> Job:
    with connection() as conn:
        job = jobs.get_job(conn, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def plan_job(event: PlanInput, reader: ByteRangeReader, store: ObjectStore) -> PlanOutput:
    job = _require_job(event.job_id)
    if job.status == jobs.JobStatus.CANCELLED:
        raise JobCancelled(f"job {event.job_id} was cancelled")
    entity = Entity(job.entity)
    info = reader.head(event.bucket, event.key)
    check_source(job, info)
    size = info.size
    chunk_size = int(job.data.get("chunk_size") or get_settings().chunk_size_bytes)
    file_format = _sniff_format(reader, event, info)

    # Every later read is conditional on this version (If-Match): see storage/s3.py.
    plan: dict[str, Any] = {
        "file_format": file_format.value,
        "chunk_size": chunk_size,
        "etag": info.etag,
    }
    notices: dict[str, str] = {}
    if file_format is FileFormat.CSV:
        notices = _plan_csv_header(reader, event, info, job, entity, plan)

    ranges = cut_ranges(size, chunk_size)
    manifest_bucket = get_settings().s3_bucket
    ranges_key = manifest_key(event.job_id, "ranges")
    store.put_json(manifest_bucket, ranges_key, _range_items(event, info, ranges))
    _start_run(event.job_id, size, plan, notices)
    logger.info(
        "import planned",
        extra={"bytes": size, "chunks": len(ranges), **plan},
    )
    return PlanOutput(
        **event.model_dump(),
        manifest_bucket=manifest_bucket,
        manifest_key=ranges_key,
        chunk_count=len(ranges),
    )


def _sniff_format(reader: ByteRangeReader, event: PlanInput, info: ObjectInfo) -> FileFormat:
    sniff = b"".join(
        reader.iter_range(
            event.bucket, event.key, 0, min(info.size, SNIFF_BYTES), if_match=info.etag
        )
    )
    return detect_format(event.key, sniff)


def _plan_csv_header(
    reader: ByteRangeReader,
    event: PlanInput,
    info: ObjectInfo,
    job: Job,
    entity: Entity,
    plan: dict[str, Any],
) -> dict[str, str]:
    """Reads and checks the header: adds it to `plan`, returns the file notices it gives."""
    header = first_record(reader, event.bucket, event.key, info.size, info.etag)
    try:
        checked = check_header(entity, header, job.data)
    except HeaderRefused as exc:
        raise UnreadableFile(str(exc)) from exc
    assert header is not None  # check_header refuses a missing header
    plan.update(header=checked.names, header_offset=header.offset, header_line=header.line)
    return checked.notices


def _range_items(
    event: PlanInput, info: ObjectInfo, ranges: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    return [
        RangeItem(
            job_id=event.job_id,
            bucket=event.bucket,
            key=event.key,
            chunk_index=index,
            start_byte=start,
            end_byte=end,
            etag=info.etag,
        ).model_dump(mode="json")
        for index, (start, end) in enumerate(ranges)
    ]


def _start_run(job_id: uuid.UUID, size: int, plan: dict[str, Any], notices: dict[str, str]) -> None:
    with connection() as conn:
        # in_queue → processing (retry_in_queue → retrying); a replayed Plan step finds the
        # job running already; a job cancelled meanwhile stays cancelled and stops here.
        if lifecycle.start(conn, job_id) is None:
            current = jobs.get_job(conn, job_id)
            if current is None or current.status not in lifecycle.RUNNING_STATUSES:
                status = current.status if current else "gone"
                raise JobCancelled(f"job {job_id} cannot start: it is {status}")
        jobs.record_plan(conn, job_id, source_size=size, plan=plan)
        jobs.add_file_notices(conn, job_id, 0, notices)


def count_range(item: RangeItem, reader: ByteRangeReader) -> RangeCount:
    counts = count_bytes(
        reader.iter_range(item.bucket, item.key, item.start_byte, item.end_byte, if_match=item.etag)
    )
    return RangeCount(chunk_index=item.chunk_index, quotes=counts.quotes, newlines=counts.newlines)


def plan_boundaries(event: BoundariesInput, store: ObjectStore) -> BoundariesOutput:
    job = _require_job(event.job_id)
    data = job.data
    ranges = cut_ranges(int(job.source_size or 0), int(data["chunk_size"]))
    counts = {count.chunk_index: count for count in event.counts}
    if sorted(counts) != list(range(len(ranges))) or len(event.counts) != len(ranges):
        raise ValueError(
            f"expected one count per range 0..{len(ranges) - 1}, got {sorted(counts)[:10]}…"
        )
    starts = range_starts(
        [RangeCounts(counts[i].quotes, counts[i].newlines) for i in range(len(ranges))]
    )
    file_format = FileFormat(data.get("file_format", FileFormat.CSV.value))
    items = [
        ChunkItem(
            job_id=event.job_id,
            bucket=event.bucket,
            key=event.key,
            entity=Entity(job.entity),
            chunk_index=index,
            start_byte=start,
            end_byte=end,
            # JSON escapes its quotes: NDJSON records end at every newline.
            starts_in_quotes=begin.in_quotes and file_format is FileFormat.CSV,
            first_line=begin.line,
            file_format=file_format,
            etag=data.get("etag"),
        )
        for index, ((start, end), begin) in enumerate(zip(ranges, starts, strict=True))
    ]
    manifest_bucket = get_settings().s3_bucket
    chunks_key = manifest_key(event.job_id, "chunks")
    store.put_json(manifest_bucket, chunks_key, [item.model_dump(mode="json") for item in items])
    with connection() as conn:
        jobs.record_chunks(
            conn,
            event.job_id,
            [jobs.ChunkRange(item.chunk_index, item.start_byte, item.end_byte) for item in items],
        )
    return BoundariesOutput(
        job_id=event.job_id,
        manifest_bucket=manifest_bucket,
        manifest_key=chunks_key,
        chunk_count=len(items),
    )
