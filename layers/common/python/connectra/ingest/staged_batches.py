"""One chunk's SQL-path batches: COPY, convert, hand the rest to Python, load.

The records of a batch take one of three ways, and every way ends in the same tables with
the same counts and row errors as the Python parser and loader would give:

* COPY rejects the batch (invalid UTF-8, NUL, a wrong number of fields), or none of its
  records enters the COPY: Python parses and loads all of it;
* the conversion flags a record (staged.py): Python parses it; every other row that may
  end on a record Python loads (of its key, of its email or domain, or of the record
  holding either: the loaders resolve those to that record), of a company a row Python
  loads writes (combined rows), or of a key whose row names a missing company, joins it,
  so "last row wins" and the company check see the same rows in the same order as in the
  Python loader. (Missing companies are looked up only once the foreign key has refused
  a batch of the chunk: that batch is then loaded again after the lookup, and so is every
  later batch);
* the SQL load refuses the batch (a constraint the checks cannot see): it rolls back to
  its savepoint and Python loads the batch, isolating the refused rows. (It first loads
  without looking up email owners, and again with them if the unique email index
  refuses: see `StagedLoader.load`.)

Combined rows (staged_combined.py): before the typed rows are loaded, their companies
(the batch's last row of each) are recorded and created in combined.py's short
transaction and the contacts pointed to them as stored (`_link_companies`); the rows
Python loads link theirs in the loader. The two calls write disjoint companies (the rows
of a company Python writes are moved to Python), so each company's batch row is the one
the Python path writes. When the SQL load then refuses the batch, Python writes its
companies again from the same rows: finalize writes each company's last row of the file
anyway (the ledger keeps it), so the tables, counts and outbox end alike.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import Connection, errors
from psycopg.rows import tuple_row

from connectra.ingest.combined import CompanyRow
from connectra.ingest.load import BatchCounts, BatchLoader
from connectra.ingest.parse import ParsedRow, RecordParser, RowError
from connectra.ingest.splitter import Record
from connectra.ingest.staged import (
    TYPED_TABLE,
    CellSource,
    ContactConverter,
    CsvCells,
    RawBatch,
    StagedConverter,
)
from connectra.ingest.staged_combined import CombinedContactConverter
from connectra.ingest.staged_companies import CompanyConverter
from connectra.ingest.staged_direct import DirectLoad, DirectOutcome
from connectra.ingest.staged_load import StagedCounts, StagedLoader
from connectra.models.fields import Entity

_REFUSALS = (errors.IntegrityError, errors.DataError)
MAX_SKIPPED_BATCHES = 64


def _unique_keys(entity: Entity, rows: list[ParsedRow]) -> list[str]:
    """The rows' unique keys besides their uuids (a contact's email, lowercased as the
    loaders match it; a company's domain): a row whose unique key a record holds
    updates that record (db/upsert.py)."""
    if entity is Entity.CONTACTS:
        return [row.row["email"].lower() for row in rows if row.row.get("email")]
    return [row.row["normalized_domain"] for row in rows if row.row.get("normalized_domain")]


def _companies(rows: list[ParsedRow]) -> list[str]:
    """The natural keys of the rows' companies (combined rows): each company's last row of
    a batch must go one way, as the Python loader writes one row per company."""
    return [str(row.company.uuid) for row in rows if row.company is not None]


def converter_for(conn: Connection[Any], entity: Entity, source: CellSource) -> StagedConverter:
    """The entity's converter over the source's cells (company columns: CSV only)."""
    if entity is Entity.COMPANIES:
        return CompanyConverter(conn, source)
    if isinstance(source, CsvCells) and source.columns.has_company_columns:
        return CombinedContactConverter(conn, source)
    return ContactConverter(conn, source)


class StagedBatches:
    """Collects a chunk's eligible records and loads them a batch at a time."""

    def __init__(
        self,
        conn: Connection[Any],
        job_id: uuid.UUID,
        source: CellSource,
        parser: RecordParser,
        loader: BatchLoader,
    ) -> None:
        self.conn = conn
        self.parser = parser
        self.loader = loader
        self.source = source
        self.batch = RawBatch(encode=source.encode)
        self.converter = converter_for(conn, loader.entity, source)
        self.staged = StagedLoader(
            conn,
            job_id,
            loader.entity,
            enqueue_search=loader.enqueue_search,
            filter_changes=loader.filter_changes,
        )
        self._failed = 0
        self._backoff = self._skip_batches = 0
        self._check_companies = self._company_refused = False
        self._direct_refused = False
        self.converter.create_tables()
        self.staged.create_tables()
        self.direct = DirectLoad(conn, self.converter, self.staged)

    def add(self, record: Record) -> None:
        self.batch.add(record)

    def __len__(self) -> int:
        return len(self.batch)

    def flush(self) -> tuple[BatchCounts, int]:
        """Load the collected records: their counts and row errors, and how many of the
        records failed (a record can have several row errors, one per column)."""
        self._failed = 0
        if not self.batch:
            return BatchCounts(), 0
        try:
            counts = self._load_batch()
        finally:
            self.batch.clear()
        return counts, self._failed

    def _load_batch(self) -> BatchCounts:
        if self._skip_batches:  # recent batches were mostly Python's anyway
            self._skip_batches -= 1
            return self._python(self.batch.take(list(self.batch.records)))
        if not self.batch.lines:
            # Nothing to COPY: the COPY is what empties the raw and typed tables, so they
            # still hold the previous batch's rows, which the SQL load would apply again.
            self._back_off(len(self.batch))
            return self._python(self.batch.take(list(self.batch.records)))
        self.source.prepare(self.batch)
        try:
            with self.conn.transaction():
                self.converter.copy(self.batch)
            direct = self._load_direct()
            if direct is not None and not direct.flagged:
                self._back_off(0)
                return direct.counts
            flagged = direct.flagged if direct is not None else self._convert()
        except errors.DataError:
            return self._python(self.batch.take(list(self.batch.records)))
        to_python = [*flagged, *self.batch.ineligible]
        self._back_off(len(to_python))
        python_rows, counts = self._parse(self.batch.take(to_python))
        python_keys = [str(row.row["uuid"]) for row in python_rows]
        self._move_to_python(python_keys, python_rows, counts)
        if isinstance(self.converter, CombinedContactConverter):
            counts.companies_written += self._link_companies()
        staged = self._load_staged()
        if staged is None and self._company_refused and not self._check_companies:
            # The chunk's first missing company: this batch and every later one look the
            # named companies up before loading (an index probe per distinct id, skipped
            # while every company exists: the foreign key checks them anyway).
            self._check_companies = True
            self._move_to_python([], python_rows, counts)
            staged = self._load_staged()
        if staged is None:
            more_rows, more = self._parse(self.batch.take(self.converter.typed_offsets()))
            python_rows += more_rows
            counts.add(more)
        else:
            counts.inserted += staged.inserted
            counts.updated += staged.updated
            counts.duplicates += staged.duplicates
        python_rows.sort(key=lambda row: row.offset)  # file order: the last row wins
        counts.add(self._load_python(python_rows))
        return counts

    def _load_direct(self) -> DirectOutcome | None:
        """The batch in one statement (staged_direct.py) when it can take that way: every
        record entered the COPY, no missing company met in this chunk, no refusal of that
        statement yet (a chunk whose rows update other records' emails would pay for it on
        every batch). None: take the two-step way."""
        if not self.converter.direct or self.batch.ineligible:
            return None
        if self._check_companies or self._direct_refused:
            return None
        try:
            with self.conn.transaction():
                return self.direct.run()
        except errors.IntegrityError:
            self._direct_refused = True
            return None
        except errors.DataError:  # a value the conversion cannot take: the two steps say
            self.source.read_leniently()
            return None

    def _convert(self) -> list[int]:
        try:
            with self.conn.transaction():
                return self.converter.convert()
        except errors.DataError:
            if not self.source.read_leniently():
                raise
        with self.conn.transaction():
            return self.converter.convert()

    def _back_off(self, to_python: int) -> None:
        """A batch mostly left to Python (a file of bad rows, or of cells the SQL path does
        not take) paid for a COPY and a conversion for little: the next 1, 2, 4 … 64
        batches go straight to Python, until a probing batch is mostly SQL's again. The
        results are the same either way; only the cost differs."""
        if to_python * 2 > len(self.batch):
            self._backoff = min(MAX_SKIPPED_BATCHES, max(1, self._backoff * 2))
            self._skip_batches = self._backoff
        else:
            self._backoff = 0

    def _move_to_python(
        self, python_keys: list[str], python_rows: list[ParsedRow], counts: BatchCounts
    ) -> None:
        """Parse the typed rows Python must load instead (converter.move_to_python): those
        of the keys and unique keys of the rows Python loads, then of the rows moved, until
        none is left that may end on a record Python loads."""
        keys, owned = python_keys, _unique_keys(self.loader.entity, python_rows)
        companies = _companies(python_rows)
        check_companies = self._check_companies
        while moved := self.converter.move_to_python(
            keys, owned, companies, check_companies=check_companies
        ):
            more_rows, more = self._parse(self.batch.take(moved))
            python_rows += more_rows
            counts.add(more)
            keys = [str(row.row["uuid"]) for row in more_rows]
            owned = _unique_keys(self.loader.entity, more_rows)
            companies = _companies(more_rows)
            check_companies = False  # the first call moved every row naming one

    def _link_companies(self) -> int:
        """The typed rows' companies (the batch's last row of each) recorded and the
        missing ones created, committed (BatchLoader.upsert_companies); each contact
        pointed to its company as stored. The number of companies created."""
        rows = (
            self.conn.cursor(row_factory=tuple_row)
            .execute(
                f"SELECT DISTINCT ON (company_uuid) company_uuid, company_values, pos "
                f"FROM {TYPED_TABLE} WHERE company_uuid IS NOT NULL ORDER BY company_uuid, pos DESC"
            )
            .fetchall()
        )
        if not rows:
            return 0
        companies = [CompanyRow(natural, values, position) for natural, values, position in rows]
        outcome = self.loader.upsert_companies(companies)
        if outcome.owners:
            self.conn.execute(
                f"UPDATE {TYPED_TABLE} AS t SET company_id = o.stored_id "
                "FROM unnest(%s::uuid[], %s::uuid[]) AS o(natural_id, stored_id) "
                "WHERE t.company_uuid = o.natural_id AND t.company_id = o.natural_id",
                (list(outcome.owners), list(outcome.owners.values())),
            )
        return len(outcome.written)

    def _load_staged(self) -> StagedCounts | None:
        """Load the typed rows in SQL; None when the database refused the batch
        (`_company_refused`: because a row names a missing company)."""
        self._company_refused = False
        for resolve_owners in (False, True):
            try:
                with self.conn.transaction():
                    return self.staged.load(resolve_owners=resolve_owners)
            except errors.UniqueViolation:
                if resolve_owners:
                    return None
                # an email another record holds (or a racing insert): look owners up
            except errors.ForeignKeyViolation:
                self._company_refused = True
                return None
            except _REFUSALS:
                return None
        return None

    def _python(self, records: list[Record]) -> BatchCounts:
        rows, counts = self._parse(records)
        counts.add(self._load_python(rows))
        return counts

    def _load_python(self, rows: list[ParsedRow]) -> BatchCounts:
        counts = self.loader.load(rows)
        self._failed += len(counts.errors)  # one per refused row
        return counts

    def _parse(self, records: list[Record]) -> tuple[list[ParsedRow], BatchCounts]:
        rows: list[ParsedRow] = []
        failed: list[RowError] = []
        for record in records:
            parsed = self.parser.parse(record)
            if isinstance(parsed, ParsedRow):
                rows.append(parsed)
            else:
                self._failed += 1
                failed.extend(parsed)
        return rows, BatchCounts(errors=failed)
