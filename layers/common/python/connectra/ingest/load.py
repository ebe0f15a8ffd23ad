"""Load one batch of valid rows inside the chunk's transaction.

Order of a batch:
1. duplicates inside the batch: the last row of a key wins, the others count as duplicates;
2. contacts: the rows' companies (combined rows, combined.py) are upserted in a
   transaction of their own and linked, and a `company_id` that names no company
   becomes a row error (never a failed commit);
3. the job's key ledger (`import_keys`) decides, across parallel chunks, which row of a
   key is the last in the file; a key seen before in this job counts as a duplicate;
4. `db.upsert.bulk_upsert` (lock the existing records, COPY the new ones, stage and update
   the rest) applies the winners, returns the filter values the updated records held, and
   enqueues search work when asked (contacts: one outbox batch entry per batch); the chunk
   adds the filter count changes at its end.

Steps 3-4 run in a savepoint: if the database still refuses a row (a constraint the
model cannot see, such as an email owned by a record with another explicit uuid), the
batch is bisected to isolate the refused rows as row errors and load all the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, errors
from psycopg.rows import tuple_row

from connectra.db import outbox
from connectra.db.filter_counts import FilterChanges
from connectra.db.upsert import bulk_upsert
from connectra.ingest import combined
from connectra.ingest.parse import ParsedRow, RowError
from connectra.models.fields import Entity

# What a single row can do wrong that a batch must survive.
_ROW_REFUSALS = (errors.IntegrityError, errors.DataError)

# Keys go as comma-joined text: dumping a 5,000-element uuid[] parameter costs ~4x more
# Python time than joining (uuids and integers hold no comma). Only the keys seen before
# in this job come back: a key seen first is its own last occurrence so far (the batch
# holds one row per key), so the common case sends nothing back.
_LEDGER = """
WITH recorded AS (
    INSERT INTO import_keys (job_id, record_uuid, position)
    SELECT %(job_id)s, key.record_uuid, key.position
    FROM unnest(
        string_to_array(%(uuids)s, ',')::uuid[], string_to_array(%(positions)s, ',')::bigint[]
    ) AS key(record_uuid, position)
    ORDER BY key.record_uuid
    ON CONFLICT (job_id, record_uuid) DO UPDATE
    SET position = greatest(import_keys.position, excluded.position)
    RETURNING record_uuid, position, (xmax = 0) AS first_seen
)
SELECT record_uuid::text, position FROM recorded WHERE NOT first_seen
"""


@dataclass
class BatchCounts:
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    companies_written: int = 0  # companies upserted by combined rows
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: BatchCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.companies_written += other.companies_written
        self.errors.extend(other.errors)


def last_wins(rows: Sequence[ParsedRow]) -> tuple[list[ParsedRow], int]:
    """One row per record uuid, the last in file order; returns (rows, dropped)."""
    latest: dict[uuid.UUID, ParsedRow] = {}
    for parsed in rows:
        latest.pop(parsed.row["uuid"], None)  # re-inserted: keeps file order of the winners
        latest[parsed.row["uuid"]] = parsed
    return list(latest.values()), len(rows) - len(latest)


class BatchLoader:
    """Loads batches for one chunk of one import job (one connection, one transaction)."""

    def __init__(
        self,
        conn: Connection[Any],
        job_id: uuid.UUID,
        entity: Entity,
        *,
        enqueue_search: bool,
        filter_changes: FilterChanges,
        company_filter_changes: FilterChanges | None = None,
    ) -> None:
        self.conn = conn
        self.job_id = job_id
        self.entity = entity
        self.enqueue_search = enqueue_search
        self.filter_changes = filter_changes
        self.company_filter_changes = company_filter_changes

    def load(self, rows: Sequence[ParsedRow]) -> BatchCounts:
        counts = BatchCounts()
        if self.entity is Entity.CONTACTS:
            # Every valid row names its company, also a contact row a later one replaces.
            counts.companies_written = self._link_companies(rows)
        unique, counts.duplicates = last_wins(rows)
        if self.entity is Entity.CONTACTS:
            unique = self._check_company_ids(unique, counts)
        if unique:
            counts.add(self._apply_isolating_refusals(unique))
        return counts

    def _apply_isolating_refusals(self, rows: list[ParsedRow]) -> BatchCounts:
        try:
            with self.conn.transaction():
                return self._apply(rows)
        except _ROW_REFUSALS as exc:
            if len(rows) == 1:
                message = exc.diag.message_primary or str(exc)
                return BatchCounts(errors=[RowError(rows[0].line, "", f"refused: {message}")])
            middle = len(rows) // 2
            counts = self._apply_isolating_refusals(rows[:middle])
            counts.add(self._apply_isolating_refusals(rows[middle:]))
            return counts

    def _apply(self, rows: list[ParsedRow]) -> BatchCounts:
        counts = BatchCounts()
        keys = [str(parsed.row["uuid"]) for parsed in rows]  # text both ways: no uuid objects
        ledger = (
            self.conn.cursor(row_factory=tuple_row)
            .execute(
                _LEDGER,
                {
                    "job_id": self.job_id,
                    "uuids": ",".join(keys),
                    "positions": ",".join([str(parsed.offset) for parsed in rows]),
                },
            )
            .fetchall()
        )
        seen_before: dict[str, int] = dict(ledger)  # key → the job's last position of it
        winners: list[ParsedRow] = []
        first_seen: set[uuid.UUID] = set()
        for parsed, key in zip(rows, keys, strict=True):
            position = seen_before.get(key)
            if position is None:
                first_seen.add(parsed.row["uuid"])
                winners.append(parsed)
                continue
            counts.duplicates += 1
            if position == parsed.offset:
                winners.append(parsed)
        if not winners:
            return counts
        new_rows = [parsed.row for parsed in winners]
        result = bulk_upsert(
            self.conn,
            self.entity,
            new_rows,
            enqueue_search=self.enqueue_search,
            previous_columns=self.filter_changes.columns,
            batch_entry=True,
        )
        self.filter_changes.count_upsert(result)
        inserted = set(result.inserted)
        for parsed in winners:
            if parsed.row["uuid"] in first_seen:
                if parsed.row["uuid"] in inserted:
                    counts.inserted += 1
                else:
                    counts.updated += 1
        # Two rows resolved to one existing record (same email, other uuid): one applied.
        counts.duplicates += result.duplicates
        counts.updated -= min(counts.updated, result.duplicates)
        return counts

    def _link_companies(self, rows: Sequence[ParsedRow]) -> int:
        """Combined rows (combined.py): record the rows' companies and create the missing
        ones, then point each contact to its company as stored; the number created."""
        companies = [parsed.company for parsed in rows if parsed.company is not None]
        if not companies:
            return 0
        outcome = self.upsert_companies(companies)
        for parsed in rows:
            company = parsed.company
            if company is not None and parsed.row.get("company_id") == company.uuid:
                parsed.row["company_id"] = outcome.owners.get(company.uuid, company.uuid)
        return len(outcome.written)

    def upsert_companies(self, companies: list[combined.CompanyRow]) -> combined.CompanyOutcome:
        """Record the companies and create the missing ones in a transaction of their own
        (combined.py), queueing the created ones for search in the chunk's."""
        outcome = combined.upsert_companies_apart(self.job_id, companies)
        if self.enqueue_search and outcome.written:
            # Here, not in the companies' transaction: it would wait on the outbox rows
            # of other chunks' uncommitted contacts (see combined.py). Companies updated
            # are enqueued when finalize writes their last row.
            outbox.enqueue(self.conn, Entity.COMPANIES.value, outcome.written, "upsert")
        return outcome

    def _check_company_ids(self, rows: list[ParsedRow], counts: BatchCounts) -> list[ParsedRow]:
        wanted = {p.row["company_id"] for p in rows if p.row.get("company_id")}
        if not wanted:
            return rows
        # Only the missing ids come back (usually none).
        missing = {
            record[0]
            for record in self.conn.cursor(row_factory=tuple_row)
            .execute(
                "SELECT wanted.id FROM unnest(string_to_array(%s, ',')::uuid[]) AS wanted(id) "
                "WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.uuid = wanted.id)",
                (",".join(map(str, wanted)),),
            )
            .fetchall()
        }
        if not missing:
            return rows
        kept: list[ParsedRow] = []
        for parsed in rows:
            company_id = parsed.row.get("company_id")
            if company_id and company_id in missing:
                counts.errors.append(
                    RowError(parsed.line, "company_id", f"no company has the id {company_id}")
                )
            else:
                kept.append(parsed)
        return kept
