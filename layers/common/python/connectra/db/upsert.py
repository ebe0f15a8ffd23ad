"""Batched upserts: COPY into a staging table, lock the existing rows, insert, update.

Shared by the API's bulk route and the ingest chunk worker. A batch is deduplicated by
uuid first (last wins): PostgreSQL refuses to update one row twice in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, sql
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

    def merge(self, other: UpsertResult) -> None:
        self.inserted.extend(other.inserted)
        self.updated.extend(other.updated)
        self.duplicates += other.duplicates
        self.previous.extend(other.previous)
        self.rows.extend(other.rows)


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


def _staging_name(entity: Entity) -> str:
    return f"staging_{entity.value}"


def _ensure_staging(conn: Connection[Any], entity: Entity) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {staging} "
            "(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(staging=sql.Identifier(_staging_name(entity)), table=sql.Identifier(entity.value))
    )
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(_staging_name(entity))))


def _resolve_existing_emails(conn: Connection[Any], rows: list[dict[str, Any]]) -> None:
    """A contact whose email already belongs to another uuid updates that record."""
    emails = [row["email"] for row in rows if row.get("email")]
    if not emails:
        return
    # Comma-joined text is much cheaper to send than a text[] parameter, and a valid email
    # (models/records.py) holds no comma.
    found = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT lower(email), uuid FROM contacts "
            "WHERE lower(email) = ANY(string_to_array(%s, ','))",
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
            "SELECT normalized_domain, uuid FROM companies WHERE normalized_domain = ANY(%s)",
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
) -> UpsertResult:
    """Upsert `rows` (from `RecordIn.to_row()`) inside the caller's transaction.

    `result.previous` holds, for every updated record, its `previous_columns` as they were
    just before this write. They are read under the row locks the write keeps, so a
    concurrent writer cannot slip a version in between (filter count deltas rely on it).
    """
    if not rows:
        return UpsertResult()
    prepared = [dict(row) for row in rows]
    if entity is Entity.CONTACTS:
        _resolve_existing_emails(conn, prepared)
    else:
        _resolve_existing_domains(conn, prepared)
    unique_rows, duplicates = dedupe_last_wins(prepared)

    columns = ("uuid", *WRITABLE_COLUMNS[entity])
    _ensure_staging(conn, entity)
    statements = _StagedUpsert(entity, columns, previous_columns)
    # Rows go in uuid order so concurrent batches lock rows in one order (no deadlocks).
    unique_rows.sort(key=lambda row: row["uuid"].int)  # uuid order, compared as ints (fast)
    with conn.cursor(row_factory=tuple_row) as cursor:
        arrays = {
            index
            for index, column in enumerate(columns)
            if FIELDS_BY_ENTITY[entity][column].is_array
        }
        with cursor.copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(statements.staging, statements.columns)
        ) as copy:
            for row in unique_rows:
                values = [row.get(column) for column in columns]
                for index in arrays:
                    values[index] = array_literal(values[index])
                copy.write_row(values)
        if enqueue_search:
            outbox.enqueue_staged(conn, entity.value, statements.staging)
        previous = _lock_existing(conn, statements)
        inserted = cursor.execute(statements.insert_new()).rowcount
        if inserted + len(previous) < len(unique_rows):
            # Another transaction inserted some of these keys after the lock above and
            # committed (our insert waited for it): lock again to read its versions.
            previous = _lock_existing(conn, statements)
        cursor.execute(statements.update_existing())
    updated = {row["uuid"] for row in previous}
    return UpsertResult(
        inserted=[row["uuid"] for row in unique_rows if row["uuid"] not in updated],
        updated=[row["uuid"] for row in previous],
        duplicates=duplicates,
        previous=[{key: row[key] for key in previous_columns} for row in previous],
        rows=unique_rows,
    )


@dataclass(frozen=True)
class _StagedUpsert:
    """The statements of one staged upsert (staging table → entity table)."""

    entity: Entity
    column_names: Sequence[str]
    previous_columns: Sequence[str]

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(self.entity.value)

    @property
    def staging(self) -> sql.Identifier:
        return sql.Identifier(_staging_name(self.entity))

    @property
    def columns(self) -> sql.Composed:
        return sql.SQL(", ").join(map(sql.Identifier, self.column_names))

    def lock_existing(self) -> sql.Composed:
        wanted = sql.SQL(", ").join(
            map(sql.Identifier, dict.fromkeys(["uuid", *self.previous_columns]))
        )
        return sql.SQL(
            "SELECT {wanted} FROM {table} WHERE uuid IN (SELECT uuid FROM {staging}) "
            "ORDER BY uuid FOR UPDATE"
        ).format(wanted=wanted, table=self.table, staging=self.staging)

    def insert_new(self) -> sql.Composed:
        """Insert the new records and drop them from staging: what stays there is updated."""
        return sql.SQL(
            "WITH inserted AS (INSERT INTO {table} ({cols}, created_at, updated_at) "
            "SELECT {cols}, now(), now() FROM {staging} ORDER BY uuid "
            "ON CONFLICT (uuid) DO NOTHING RETURNING uuid) "
            "DELETE FROM {staging} AS s USING inserted WHERE s.uuid = inserted.uuid"
        ).format(table=self.table, cols=self.columns, staging=self.staging)

    def update_existing(self) -> sql.Composed:
        assignments = sql.SQL(", ").join(
            sql.SQL("{col} = s.{col}").format(col=sql.Identifier(column))
            for column in self.column_names
            if column != "uuid"
        )
        written = [column for column in self.column_names if column != "uuid"]
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


def _lock_existing(conn: Connection[Any], statements: _StagedUpsert) -> list[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row).execute(statements.lock_existing()).fetchall()
