"""The chunk worker: one byte range of the file → loaded rows, counts and row errors.

Idempotent by construction: the chunk's rows, its filter counts, its search-outbox
entries, its row errors and its `job_chunks` row (status `done` + counts) commit in ONE
transaction, which starts by locking the `job_chunks` row. A crash anywhere rolls all of
it back and a retry starts from scratch; a retry after the commit finds the chunk done
and returns the recorded summary; two concurrent attempts queue on the lock.

Memory is bounded by the chunk, not the file: the range is streamed in 1 MiB pieces, at
most one batch of rows (`settings.ingest_batch_size`) is held at a time, and reading stops
at the range end or after at most `settings.ingest_max_record_bytes` more (a longer record
is one row error, see splitter.py).
"""

from __future__ import annotations

import gc
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Connection

from connectra.db.filter_counts import FilterChanges
from connectra.db.pool import connection
from connectra.errors import NotFound
from connectra.ingest.events import ChunkItem, ChunkSummary
from connectra.ingest.load import BatchCounts, BatchLoader
from connectra.ingest.mapping import column_map
from connectra.ingest.parse import FileFormat, ParsedRow, RecordParser, RowError
from connectra.ingest.splitter import Record, read_start, split_range
from connectra.ingest.staged import CellSource, CsvCells
from connectra.ingest.staged import supports as staged_supported
from connectra.ingest.staged_batches import StagedBatches
from connectra.ingest.staged_ndjson import NdjsonCells
from connectra.jobs import repository as jobs
from connectra.jobs.models import ChunkStatus, Job
from connectra.models.fields import Entity
from connectra.observability import logger
from connectra.settings import get_settings
from connectra.storage.s3 import PIECE_BYTES, ByteRangeReader

HEARTBEAT_SECONDS = 30.0
GIN_PENDING_LIST = "64MB"


def range_pieces(reader: ByteRangeReader, item: ChunkItem) -> Iterator[bytes]:
    """The range from one byte before it, then further pieces only while still needed."""
    yield from reader.iter_range(
        item.bucket, item.key, read_start(item.start_byte), item.end_byte, if_match=item.etag
    )
    position = item.end_byte
    while True:
        got = False
        for piece in reader.iter_range(
            item.bucket, item.key, position, position + PIECE_BYTES, if_match=item.etag
        ):
            got = True
            position += len(piece)
            yield piece
        if not got:
            return  # end of the object


def _summary(chunk_index: int, row: dict[str, Any]) -> ChunkSummary:
    return ChunkSummary(
        chunk_index=chunk_index,
        rows=int(row["rows_total"]),
        inserted=int(row["inserted_rows"]),
        updated=int(row["updated_rows"]),
        failed=int(row["failed_rows"]),
        duplicates=int(row["duplicate_rows"]),
    )


def _parser(job: Job, item: ChunkItem) -> RecordParser:
    entity = Entity(job.entity)
    if item.file_format is FileFormat.NDJSON:
        return RecordParser(entity, FileFormat.NDJSON)
    columns = column_map(entity, job.data["header"], job.data)
    return RecordParser(entity, FileFormat.CSV, columns)


def _error_rows(errors: list[RowError]) -> list[tuple[int, str, str, str | None]]:
    return [(error.line, error.column, error.message, error.raw) for error in errors]


class _Heartbeat:
    """Tells the sweeper the job is alive (own short transaction, outside the chunk's)."""

    def __init__(self, job_id: uuid.UUID) -> None:
        self.job_id = job_id
        self.last = time.monotonic()

    def maybe_beat(self) -> None:
        if time.monotonic() - self.last < HEARTBEAT_SECONDS:
            return
        self.last = time.monotonic()
        with connection() as conn:
            jobs.heartbeat(conn, self.job_id)


def run_chunk(item: ChunkItem, reader: ByteRangeReader) -> ChunkSummary:
    with connection() as conn:
        jobs.start_chunk_attempt(conn, item.job_id, item.chunk_index)
    try:
        return _run_in_transaction(item, reader)
    except Exception as exc:
        with connection() as conn:
            jobs.fail_chunk(conn, item.job_id, item.chunk_index, _describe(exc))
        raise


def _describe(exc: Exception) -> str:
    """The chunk's error as the job shows it: the primary message only. A database error's
    full text (DETAIL, CONTEXT: COPY …, with row data) and source paths go to the log."""
    last = traceback.extract_tb(exc.__traceback__)[-1:] or None
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    logger.warning("chunk failed", extra={"error": f"{type(exc).__name__}: {exc}{where}"})
    if isinstance(exc, psycopg.Error):
        primary = exc.diag.message_primary or str(exc).splitlines()[0]
        return f"the database refused the chunk ({exc.sqlstate or type(exc).__name__}): {primary}"
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _run_in_transaction(item: ChunkItem, reader: ByteRangeReader) -> ChunkSummary:
    settings = get_settings()
    started = time.monotonic()
    with connection() as conn:
        chunk = jobs.lock_chunk(conn, item.job_id, item.chunk_index)
        if chunk is None:
            raise NotFound(f"chunk {item.chunk_index} of job {item.job_id} is not in the manifest")
        if chunk["status"] == ChunkStatus.DONE:
            logger.info("chunk already done")
            return _summary(item.chunk_index, chunk)
        job = jobs.get_job(conn, item.job_id)
        assert job is not None  # job_chunks references jobs
        # A bad company_id must fail its row at the INSERT, not the whole chunk at COMMIT.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The search indexes are GIN: a larger pending list turns many small index merges
        # into few large ones (measured ~30% faster batches on the indexed contacts table).
        conn.execute(f"SET LOCAL gin_pending_list_limit = '{GIN_PENDING_LIST}'")
        with _fewer_collections():
            summary = _load_range(conn, item, reader, job, settings.ingest_batch_size)
    logger.info(
        "chunk loaded",
        extra={
            "job_id": str(item.job_id),
            **summary.model_dump(),
            "seconds": round(time.monotonic() - started, 3),
        },
    )
    return summary


# A chunk allocates millions of short-lived, acyclic objects (row dicts, strings) that
# reference counting frees. At the default threshold (700 allocations) the cyclic
# collector ran ~1,700 times per 100k rows and took ~15% of the worker's time
# (one worker, 100k contacts: 1.56 s of 9.9 s); cycles are still collected, less often.
_CHUNK_GC_THRESHOLD = (50_000, 20, 100)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(*_CHUNK_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _staged_batches(
    conn: Connection[Any],
    item: ChunkItem,
    entity: Entity,
    parser: RecordParser,
    loader: BatchLoader,
) -> StagedBatches | None:
    """The SQL path's batches when the file is one it converts (staged.py, staged_ndjson.py),
    else None."""
    if not get_settings().ingest_sql_path:
        return None
    source: CellSource
    if parser.file_format is FileFormat.NDJSON:
        if entity is not Entity.CONTACTS:
            return None
        source = NdjsonCells(parser)
    elif not staged_supported(entity, parser.columns):
        return None
    else:
        assert parser.columns is not None
        source = CsvCells(parser.columns)
    return StagedBatches(conn, item.job_id, source, parser, loader)


def _load_range(
    conn: Connection[Any],
    item: ChunkItem,
    reader: ByteRangeReader,
    job: Job,
    batch_size: int,
) -> ChunkSummary:
    entity = Entity(job.entity)
    parser = _parser(job, item)
    header_offset = job.data.get("header_offset")
    filter_changes = FilterChanges.for_entity(conn, entity)
    company_filter_changes = (
        FilterChanges.for_entity(conn, Entity.COMPANIES) if entity is Entity.CONTACTS else None
    )
    loader = _batch_loader(conn, item, entity, filter_changes, company_filter_changes)
    heartbeat = _Heartbeat(item.job_id)
    records = _range_records(reader, item)
    staged = _staged_batches(conn, item, entity, parser, loader)
    load = _RangeLoad(conn, item, parser, loader, staged, heartbeat, batch_size)
    load.add_all(records, header_offset)
    load.flush_remaining()
    jobs.add_file_notices(
        conn,
        item.job_id,
        item.chunk_index,
        {key: "unknown field, ignored" for key in parser.unknown_columns},
    )
    filter_changes.apply(conn)
    if company_filter_changes is not None:
        company_filter_changes.apply(conn)
    summary = load.summary()
    _complete_chunk(conn, item, summary)
    return summary


def _batch_loader(
    conn: Connection[Any],
    item: ChunkItem,
    entity: Entity,
    filter_changes: FilterChanges,
    company_filter_changes: FilterChanges | None,
) -> BatchLoader:
    return BatchLoader(
        conn,
        item.job_id,
        entity,
        enqueue_search=get_settings().search_backend == "opensearch",
        filter_changes=filter_changes,
        company_filter_changes=company_filter_changes,
    )


def _range_records(reader: ByteRangeReader, item: ChunkItem) -> Iterator[Record]:
    return split_range(
        range_pieces(reader, item),
        item.start_byte,
        item.end_byte,
        in_quotes=item.starts_in_quotes,
        first_line=item.first_line,
        quote_aware=item.file_format is FileFormat.CSV,
        max_record_bytes=get_settings().ingest_max_record_bytes,
    )


class _RangeLoad:
    """One chunk's records → batches (Python or SQL path), with the running counts.

    A full batch is loaded and its row errors written before the next record is read, so
    at most one batch (and one batch of parse errors) is held at a time.
    """

    def __init__(
        self,
        conn: Connection[Any],
        item: ChunkItem,
        parser: RecordParser,
        loader: BatchLoader,
        staged: StagedBatches | None,
        heartbeat: _Heartbeat,
        batch_size: int,
    ) -> None:
        self.conn = conn
        self.item = item
        self.parser = parser
        self.loader = loader
        self.staged = staged
        self.heartbeat = heartbeat
        self.batch_size = batch_size
        self.totals = BatchCounts()
        self.rows = 0
        self.failed = 0
        self.batch: list[ParsedRow] = []
        self.pending_errors: list[RowError] = []

    def add_all(self, records: Iterator[Record], header_offset: int | None) -> None:
        for record in records:
            if record.offset == header_offset:
                continue
            self.rows += 1
            if self.staged is not None:
                self._add_staged(self.staged, record)
            else:
                self._add_parsed(record)

    def flush_remaining(self) -> None:
        if self.batch:
            self._flush_batch()
        if self.staged is not None:
            self._flush_staged(self.staged)
        self._write_errors(self.pending_errors)

    def summary(self) -> ChunkSummary:
        return ChunkSummary(
            chunk_index=self.item.chunk_index,
            rows=self.rows,
            inserted=self.totals.inserted,
            updated=self.totals.updated,
            failed=self.failed,
            duplicates=self.totals.duplicates,
        )

    def _add_staged(self, staged: StagedBatches, record: Record) -> None:
        staged.add(record)
        if len(staged) >= self.batch_size:
            self._flush_staged(staged)

    def _add_parsed(self, record: Record) -> None:
        parsed = self.parser.parse(record)
        if isinstance(parsed, ParsedRow):
            self.batch.append(parsed)
            if len(self.batch) >= self.batch_size:
                self._flush_batch()
        else:
            self.failed += 1
            self.pending_errors.extend(parsed)
            if len(self.pending_errors) >= self.batch_size:
                self._write_errors(self.pending_errors)
                self.pending_errors.clear()

    def _flush_batch(self) -> None:
        counts = self.loader.load(self.batch)
        self.failed += len(counts.errors)
        self._take_counts(counts)
        self.batch.clear()
        self.heartbeat.maybe_beat()

    def _flush_staged(self, staged: StagedBatches) -> None:
        counts, failed_records = staged.flush()
        self.failed += failed_records
        self._take_counts(counts)
        self.heartbeat.maybe_beat()

    def _take_counts(self, counts: BatchCounts) -> None:
        """Writes the batch's row errors, then adds its counts (without the errors)."""
        self._write_errors(counts.errors)
        counts.errors = []
        self.totals.add(counts)

    def _write_errors(self, errors: list[RowError]) -> None:
        jobs.add_row_errors(self.conn, self.item.job_id, self.item.chunk_index, _error_rows(errors))


def _complete_chunk(conn: Connection[Any], item: ChunkItem, summary: ChunkSummary) -> None:
    jobs.complete_chunk(
        conn,
        item.job_id,
        item.chunk_index,
        rows=summary.rows,
        inserted=summary.inserted,
        updated=summary.updated,
        failed=summary.failed,
        duplicates=summary.duplicates,
    )
