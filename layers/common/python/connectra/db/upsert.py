"""Batched upserts: lock the existing records, COPY the new ones, stage and update the rest.

Shared by the API's bulk route and the ingest chunk worker. A batch is deduplicated by
uuid first (last wins): PostgreSQL refuses to update one row twice in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.rows import dict_row, tuple_row

from connectra.db import outbox
from connectra.models.fields import FIELDS_BY_ENTITY, WRITABLE_COLUMNS, Entity


@dataclass
class UpsertResult:
    inserted: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    duplicates: int = 0
    # Updated records' columns as they were before the write (see `bulk_upsert`).
    previous: list[dict[str, Any]] = field(default_factory=list)
    # The rows written, one per record (duplicates resolved, uuids of existing owners).
    rows: list[dict[str, Any]] = field(default_factory=list)


def dedupe_last_wins(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the last row of each uuid, in first-seen order; return (rows, duplicates dropped)."""
    latest: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        latest[row["uuid"]] = row
    return list(latest.values()), len(rows) - len(latest)


def array_literal(items: Sequence[str] | None) -> str | None:
    """A text[] input literal (`{"a","b \\"c\\""}`) for COPY.

    psycopg dumps a list through its Python array dumper, the costliest part of a row;
    the column's own input function parses this text instead. Every element is quoted,
    so commas, braces, blanks and the word NULL stay plain text.
    """
    if items is None:
        return None
    quoted = [item.replace("\\", "\\\\").replace('"', '\\"') for item in items]
    return "{" + ",".join(['"' + item + '"' for item in quoted]) + "}"


def _resolve_existing_emails(conn: Connection[Any], rows: list[dict[str, Any]]) -> None:
    """A contact whose email already belongs to another live uuid updates that record
    (a soft-deleted record no longer claims its email: migration hardening_1)."""
    emails = [row["email"] for row in rows if row.get("email")]
    if not emails:
        return
    # Comma-joined text is much cheaper to send than a text[] parameter, and a valid email
    # (models/records.py) holds no comma.
    found = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT lower(email), uuid FROM contacts "
            "WHERE lower(email) = ANY(string_to_array(%s, ',')) AND deleted_at IS NULL",
            (",".join(emails),),
        )
        .fetchall()
    )
    owner: dict[str, uuid.UUID] = dict(found)
    for row in rows:
        existing = owner.get((row.get("email") or "").lower())
        if existing is not None:
            row["uuid"] = existing


def _resolve_existing_domains(conn: Connection[Any], rows: list[dict[str, Any]]) -> None:
    domains = [row["normalized_domain"] for row in rows if row.get("normalized_domain")]
    if not domains:
        return
    found = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT normalized_domain, uuid FROM companies "
            "WHERE normalized_domain = ANY(%s) AND deleted_at IS NULL",
            (domains,),
        )
        .fetchall()
    )
    owner = {record["normalized_domain"]: record["uuid"] for record in found}
    for row in rows:
        existing = owner.get(row.get("normalized_domain") or "")
        if existing is not None:
            row["uuid"] = existing


def bulk_upsert(
    conn: Connection[Any],
    entity: Entity,
    rows: Sequence[dict[str, Any]],
    *,
    enqueue_search: bool,
    previous_columns: Sequence[str] = (),
    batch_entry: bool = False,
) -> UpsertResult:
    """Upsert `rows` (from `RecordIn.to_row()`) inside the caller's transaction.

    `result.previous` holds, for every updated record, its `previous_columns` as they were
    just before this write. They are read under the row locks the write keeps, so a
    concurrent writer cannot slip a version in between (filter count deltas rely on it).

    `batch_entry`: the search work is queued as one outbox batch entry (db/outbox.py; an
    import's batches) rather than a row per record.

    The existing records of the batch are locked first. The new ones are copied straight
    into the table (the cheapest write PostgreSQL has); the existing ones go through a
    staging table and one UPDATE. If another transaction committed one of the new keys
    since the lock, the direct copy fails and the batch is written the staged way, which
    inserts with ON CONFLICT and locks again.
    """
    if not rows:
        return UpsertResult()
    prepared = [dict(row) for row in rows]
    if entity is Entity.CONTACTS:
        _resolve_existing_emails(conn, prepared)
    else:
        _resolve_existing_domains(conn, prepared)
    unique_rows, duplicates = dedupe_last_wins(prepared)
    # Rows go in uuid order so concurrent batches lock rows in one order (no deadlocks).
    unique_rows.sort(key=lambda row: row["uuid"].int)  # uuid order, compared as ints (fast)
    ids = ",".join([str(row["uuid"]) for row in unique_rows])  # text: cheaper than uuid[]

    writer = _BatchWriter(conn, entity, previous_columns)
    if enqueue_search and batch_entry:
        outbox.enqueue_joined_batch(conn, entity.value, ids)
    elif enqueue_search:
        outbox.enqueue_joined(conn, entity.value, ids)
    previous = writer.lock(ids)
    existing = {row["uuid"] for row in previous}
    fresh = [row for row in unique_rows if row["uuid"] not in existing]
    if fresh and not writer.copy_new(fresh):
        previous = writer.upsert_staged(unique_rows)
    elif previous:
        writer.update_staged([row for row in unique_rows if row["uuid"] in existing])
    updated = {row["uuid"] for row in previous}
    return UpsertResult(
        inserted=[row["uuid"] for row in unique_rows if row["uuid"] not in updated],
        updated=[row["uuid"] for row in previous],
        duplicates=duplicates,
        previous=[{key: row[key] for key in previous_columns} for row in previous],
        rows=unique_rows,
    )


class _BatchWriter:
    """The statements of one batch: lock, copy new rows, or stage and update/insert."""

    def __init__(
        self, conn: Connection[Any], entity: Entity, previous_columns: Sequence[str]
    ) -> None:
        self.conn = conn
        self.entity = entity
        self.column_names = ("uuid", *WRITABLE_COLUMNS[entity])
        self.previous_columns = previous_columns
        self.table = sql.Identifier(entity.value)
        self.staging = sql.Identifier(f"staging_{entity.value}")
        self.columns = sql.SQL(", ").join(map(sql.Identifier, self.column_names))
        self._arrays = [
            index
            for index, column in enumerate(self.column_names)
            if FIELDS_BY_ENTITY[entity][column].is_array
        ]

    def lock(self, ids: str) -> list[dict[str, Any]]:
        """Lock the batch's existing records (uuid order); their previous columns."""
        return self._lock(sql.SQL("uuid = ANY(string_to_array(%s, ',')::uuid[])"), (ids,))

    def _lock(self, which: sql.Composable, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        # NO KEY UPDATE: the update never changes a key column (the uuid; the email and
        # domain uniques are partial, expression indexes, which no foreign key can use),
        # so it need not exclude the KEY SHARE locks of other transactions' foreign key
        # checks: a companies import no longer waits for the contacts chunks referencing
        # its companies to commit. It still excludes every other writer of the rows.
        wanted = sql.SQL(", ").join(
            map(sql.Identifier, dict.fromkeys(["uuid", *self.previous_columns]))
        )
        statement = sql.SQL(
            "SELECT {wanted} FROM {table} WHERE {which} ORDER BY uuid FOR NO KEY UPDATE"
        ).format(wanted=wanted, table=self.table, which=which)
        return self.conn.cursor(row_factory=dict_row).execute(statement, params).fetchall()

    def copy_new(self, rows: list[dict[str, Any]]) -> bool:
        """COPY new records into the table; False (nothing written) if a key was taken."""
        try:
            with self.conn.transaction():
                self._copy(self.table, rows)
        except errors.UniqueViolation:
            return False
        return True

    def update_staged(self, rows: list[dict[str, Any]]) -> None:
        """Update locked records from their rows (through the staging table)."""
        self._stage(rows)
        self.conn.execute(self._update_existing())

    def upsert_staged(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert what is new, lock the rest again, update it; the updated records' previous.

        The insert drops its rows from staging, so the second lock reads only records that
        existed before this batch (some committed by another import since the first lock).
        """
        self._stage(rows)
        self.conn.execute(self._insert_new())
        previous = self._lock(sql.SQL("uuid IN (SELECT uuid FROM {})").format(self.staging))
        self.conn.execute(self._update_existing())
        return previous

    def _stage(self, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {staging} "
                "(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            ).format(staging=self.staging, table=self.table)
        )
        self.conn.execute(sql.SQL("TRUNCATE {}").format(self.staging))
        self._copy(self.staging, rows)

    def _copy(self, target: sql.Identifier, rows: list[dict[str, Any]]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, self.columns)
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row.get(column) for column in self.column_names]
                for index in self._arrays:
                    values[index] = array_literal(values[index])
                copy.write_row(values)

    def _insert_new(self) -> sql.Composed:
        """Insert the new records and drop them from staging: what stays there is updated."""
        return sql.SQL(
            "WITH inserted AS (INSERT INTO {table} ({cols}, created_at, updated_at) "
            "SELECT {cols}, now(), now() FROM {staging} ORDER BY uuid "
            "ON CONFLICT (uuid) DO NOTHING RETURNING uuid) "
            "DELETE FROM {staging} AS s USING inserted WHERE s.uuid = inserted.uuid"
        ).format(table=self.table, cols=self.columns, staging=self.staging)

    def _update_existing(self) -> sql.Composed:
        written = [column for column in self.column_names if column != "uuid"]
        assignments = sql.SQL(", ").join(
            sql.SQL("{col} = s.{col}").format(col=sql.Identifier(column)) for column in written
        )
        mine = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in written)
        theirs = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in written)
        # A live record already equal to its row is left alone: re-importing a file does
        # not rewrite (nor re-index, nor bloat) the records it did not change.
        return sql.SQL(
            "UPDATE {table} AS t SET {assignments}, updated_at = now(), deleted_at = NULL "
            "FROM {staging} AS s WHERE t.uuid = s.uuid "
            "AND (({mine}) IS DISTINCT FROM ({theirs}) OR t.deleted_at IS NOT NULL)"
        ).format(
            table=self.table,
            assignments=assignments,
            staging=self.staging,
            mine=mine,
            theirs=theirs,
        )
