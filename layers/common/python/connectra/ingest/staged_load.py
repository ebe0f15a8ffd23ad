"""Load the typed rows of one batch (staged.py) without bringing them back to Python.

The same steps and counts as `BatchLoader.load` + `db.upsert.bulk_upsert`, as statements
over the temporary typed table:

1. last row of a key in the batch wins (the others are duplicates);
2. the job's key ledger (`import_keys`) keeps, across parallel chunks, only the last row
   of a key in the file; a key seen before in this job is a duplicate;
3. a row whose unique key (a contact's email, a company's domain) belongs to another
   record updates that record, and two rows that end on one record keep the later (a
   duplicate);
4. new records are inserted first (`ON CONFLICT (uuid) DO NOTHING`, uuid order); only when
   some row's record already exists are those records locked in uuid order and their
   filter columns read under that lock (exact filter count deltas, db/filter_counts.py),
   then updated (a live record equal to its row is not rewritten). A batch of new keys,
   the common case, probes nothing before its insert;
5. the search outbox gets every written key, in the same transaction, as the Python
   loader queues it (db/outbox.py `import_statements`: contacts as one batch entry);
6. the filter count changes come back grouped by (key, value), a few rows per batch, and
   the displays of the filters another column shows (a company's uuid by its name).

The caller runs this in a savepoint: a refused row (a unique email held by a record with
another explicit uuid, a key another import committed since the lock) rolls the batch
back, and the caller loads it through the Python loader, which isolates such rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row

from connectra.db import outbox
from connectra.db.filter_counts import FilterChanges
from connectra.db.filters import display_column
from connectra.ingest.staged import TYPED_TABLE
from connectra.models.fields import FIELDS_BY_ENTITY, WRITABLE_COLUMNS, Entity

WINNERS = "ingest_winners"
# How a winner `w` finds the live record `c` that holds its unique key (db/upsert.py
# `_resolve_existing_emails` / `_resolve_existing_domains`).
_OWNED_KEY = {
    Entity.CONTACTS: "w.email IS NOT NULL AND lower(c.email) = w.email",
    Entity.COMPANIES: "w.normalized_domain IS NOT NULL "
    "AND c.normalized_domain = w.normalized_domain",
}
PREVIOUS = "ingest_previous"
INSERTED = "ingest_inserted"


@dataclass
class StagedCounts:
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0


class StagedLoader:
    """The SQL load of one chunk's typed batches (one connection, one transaction)."""

    def __init__(
        self,
        conn: Connection[Any],
        job_id: uuid.UUID,
        entity: Entity,
        *,
        enqueue_search: bool,
        filter_changes: FilterChanges,
    ) -> None:
        self.conn = conn
        self.job_id = job_id
        self.entity = entity
        self.table = entity.value
        self.enqueue_search = enqueue_search
        self.filter_changes = filter_changes
        self.written = WRITABLE_COLUMNS[entity]
        self.previous_columns = [c for c in filter_changes.columns if c != "uuid"]
        self.holds_rows = False  # whether `load` has filled the tables (they stay so)

    def create_tables(self) -> None:
        self.conn.execute(
            f"DROP TABLE IF EXISTS pg_temp.{WINNERS}, pg_temp.{PREVIOUS}, pg_temp.{INSERTED}"
        )
        self.conn.execute(
            f"CREATE TEMP TABLE {WINNERS} ON COMMIT DROP AS SELECT *, "
            "true AS first_seen, uuid AS target, true AS applied "
            f"FROM {TYPED_TABLE} WITH NO DATA"
        )
        self.conn.execute(
            f"CREATE TEMP TABLE {PREVIOUS} ON COMMIT DROP AS "
            f"SELECT uuid, {', '.join(self.previous_columns)} FROM {self.table} WITH NO DATA"
        )
        self.conn.execute(f"CREATE TEMP TABLE {INSERTED} (uuid uuid) ON COMMIT DROP")

    def load(self, *, resolve_owners: bool) -> StagedCounts:
        """Apply the typed rows (call inside a savepoint).

        Without `resolve_owners` the step that looks up each row's email among other
        records (an index probe per row) is skipped. That is exact whenever it succeeds:
        a row whose email another record holds would write that email into a second
        record, which the unique email index refuses (UniqueViolation: the caller rolls
        back and loads again with `resolve_owners`)."""
        self.holds_rows = True
        self.conn.execute(f"TRUNCATE {WINNERS}, {PREVIOUS}, {INSERTED}")
        in_batch, seen_before, winners = self._ledger()
        counts = StagedCounts(duplicates=in_batch + seen_before)
        if winners:
            applied = winners
            if resolve_owners:
                self._resolve_owners()
                applied = self._applied()
            if self._insert_new() < applied:
                self._lock()
                self._update_existing()
            if self.enqueue_search:
                self._enqueue()
            inserted, first_seen, merged = self._counts()
            counts.inserted = inserted
            counts.updated = max(0, first_seen - inserted - merged)
            counts.duplicates += merged
            self._count_filters()
        return counts

    def _ledger(self) -> tuple[int, int, int]:
        """Record the batch's keys; keep the rows that are their key's last so far.

        Returns (rows dropped for a later row of their key in the batch, keys seen before
        in this job, rows kept)."""
        statement = f"""
            WITH batch AS (
                SELECT DISTINCT ON (uuid) * FROM {TYPED_TABLE} ORDER BY uuid, pos DESC
            ), recorded AS (
                INSERT INTO import_keys (job_id, record_uuid, position)
                SELECT %(job_id)s, uuid, pos FROM batch ORDER BY uuid
                ON CONFLICT (job_id, record_uuid) DO UPDATE
                SET position = greatest(import_keys.position, excluded.position)
                RETURNING record_uuid, position, (xmax = 0) AS first_seen
            ), kept AS (
                INSERT INTO {WINNERS}
                SELECT b.*, r.first_seen, b.uuid, true FROM batch AS b
                JOIN recorded AS r ON r.record_uuid = b.uuid
                WHERE r.first_seen OR r.position = b.pos
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM {TYPED_TABLE}) - (SELECT count(*) FROM batch),
                   (SELECT count(*) FROM recorded WHERE NOT first_seen),
                   (SELECT count(*) FROM kept)
        """
        row = (
            self.conn.cursor(row_factory=tuple_row)
            .execute(statement, {"job_id": self.job_id})
            .fetchone()
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    def _resolve_owners(self) -> None:
        """A row whose unique key (a contact's email, a company's domain) a live record
        holds updates that record (a soft-deleted one no longer claims it, as in
        db/upsert.py); of rows that end on one record, the last in the file is applied."""
        self.conn.execute(
            f"UPDATE {WINNERS} AS w SET target = c.uuid FROM {self.table} AS c "
            f"WHERE {_OWNED_KEY[self.entity]} AND c.uuid <> w.uuid AND c.deleted_at IS NULL"
        )
        self.conn.execute(
            f"UPDATE {WINNERS} AS w SET applied = false FROM ("
            f"SELECT target, max(pos) AS last FROM {WINNERS} GROUP BY target "
            "HAVING count(*) > 1) AS shared WHERE w.target = shared.target "
            "AND w.pos < shared.last"
        )

    def _insert_new(self) -> int:
        """Insert the rows whose record does not exist yet; how many were inserted."""
        columns = ", ".join(self.written)
        statement = f"""
            WITH inserted AS (
                INSERT INTO {self.table} (uuid, {columns}, created_at, updated_at)
                SELECT w.target, {", ".join(f"w.{c}" for c in self.written)}, now(), now()
                FROM {WINNERS} AS w WHERE w.applied ORDER BY w.target
                ON CONFLICT (uuid) DO NOTHING
                RETURNING uuid
            ), kept AS (
                INSERT INTO {INSERTED} SELECT uuid FROM inserted RETURNING 1
            )
            SELECT count(*) FROM kept
        """
        row = self.conn.cursor(row_factory=tuple_row).execute(statement).fetchone()
        assert row is not None
        return int(row[0])

    def _applied(self) -> int:
        cursor = self.conn.cursor(row_factory=tuple_row)
        row = cursor.execute(f"SELECT count(*) FROM {WINNERS} WHERE applied").fetchone()
        assert row is not None
        return int(row[0])

    def _lock(self) -> None:
        """Lock the existing records the batch writes (uuid order) and keep their filter
        columns as they were (the rows just inserted are not among them)."""
        columns = ", ".join(f"c.{name}" for name in self.previous_columns)
        self.conn.execute(
            f"INSERT INTO {PREVIOUS} SELECT c.uuid, {columns} FROM {self.table} AS c "
            f"WHERE c.uuid IN (SELECT target FROM {WINNERS} WHERE applied "
            f"EXCEPT SELECT uuid FROM {INSERTED}) "
            "ORDER BY c.uuid FOR UPDATE OF c"
        )

    def _update_existing(self) -> None:
        assignments = ", ".join(f"{c} = w.{c}" for c in self.written)
        mine = ", ".join(f"t.{c}" for c in self.written)
        theirs = ", ".join(f"w.{c}" for c in self.written)
        self.conn.execute(
            f"UPDATE {self.table} AS t SET {assignments}, updated_at = now(), deleted_at = NULL "
            f"FROM {WINNERS} AS w JOIN {PREVIOUS} AS p ON p.uuid = w.target "
            "WHERE w.applied AND t.uuid = w.target "
            f"AND (({mine}) IS DISTINCT FROM ({theirs}) OR t.deleted_at IS NOT NULL)"
        )

    def _enqueue(self) -> None:
        ids = f"SELECT target FROM {WINNERS} WHERE applied"
        for statement in outbox.import_statements(self.table, ids):
            self.conn.execute(statement)

    def _counts(self) -> tuple[int, int, int]:
        """(first-seen rows whose key became a new record, first-seen rows, rows merged
        into another row's record), as BatchLoader counts them."""
        statement = f"""
            SELECT count(*) FILTER (
                       WHERE w.first_seen AND w.uuid IN (SELECT uuid FROM {INSERTED})),
                   count(*) FILTER (WHERE w.first_seen),
                   count(*) FILTER (WHERE NOT w.applied)
            FROM {WINNERS} AS w
        """
        row = self.conn.cursor(row_factory=tuple_row).execute(statement).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    def _count_filters(self) -> None:
        """Written values in, replaced live values out, summed per (key, value); the
        written records' displays."""
        written = f"{WINNERS} WHERE applied"
        parts = self.filter_delta_parts(written, 1, uuid="target")
        parts += self.filter_delta_parts(f"{PREVIOUS} WHERE deleted_at IS NULL", -1)
        self._add_filter_deltas(parts)
        displays = self.displays_query(written, uuid="target")
        if displays is not None:
            rows = self.conn.cursor(row_factory=tuple_row).execute(displays).fetchall()
            self.filter_changes.add_displays(rows)

    def filter_delta_parts(self, rows: str, sign: int, *, uuid: str = "uuid") -> list[str]:
        """SELECTs of (key, value, `sign`) for each filter value of `rows` (a table or a CTE
        and its condition, whose record id is the column `uuid`), to be summed per
        (key, value)."""
        fields = FIELDS_BY_ENTITY[self.entity]
        parts: list[str] = []
        for key in self.filter_changes.keys:
            value = f"unnest({key})" if fields[key].is_array else self._column(key, uuid)
            parts.append(
                f"SELECT '{key}' AS key, {value}::text AS value, {sign} AS delta FROM {rows}"
            )
        return parts

    def displays_query(self, rows: str, *, uuid: str = "uuid") -> str | None:
        """(key, value, display) of each written record of `rows` for the filters shown by
        another column (a company's uuid by its name: FilterChanges.add_displays); None
        when the entity has none."""
        parts = [
            f"SELECT '{key}', {self._column(key, uuid)}::text, "
            f"coalesce({self._column(shown_by, uuid)}::text, {self._column(key, uuid)}::text) "
            f"FROM {rows}"
            for key in self.filter_changes.keys
            if (shown_by := display_column(self.entity, key)) != key
        ]
        return " UNION ALL ".join(parts) if parts else None

    @staticmethod
    def _column(name: str, uuid: str) -> str:
        return uuid if name == "uuid" else name

    def _add_filter_deltas(self, parts: list[str]) -> None:
        if not parts:
            return
        cursor = self.conn.cursor(row_factory=tuple_row)
        rows = cursor.execute(filter_deltas_query(parts)).fetchall()
        self.filter_changes.add_deltas((key, value, delta) for key, value, delta in rows)

    def update_winners(self) -> None:
        """The direct load's (staged_direct.py) rows whose record existed, all applied, in
        the winners table: lock those records, update them, uncount their replaced values
        (the written ones were counted with the others)."""
        self._lock()
        self._update_existing()
        self._add_filter_deltas(self.filter_delta_parts(f"{PREVIOUS} WHERE deleted_at IS NULL", -1))
        self.conn.execute(f"TRUNCATE {WINNERS}, {PREVIOUS}")


def filter_deltas_query(parts: list[str]) -> str:
    """(key, value, delta) per changed filter value of `parts` (filter_delta_parts)."""
    return (
        f"SELECT key, value, sum(delta)::int FROM ({' UNION ALL '.join(parts)}) AS change "
        "WHERE value IS NOT NULL GROUP BY key, value HAVING sum(delta) <> 0"
    )
