"""Batched upserts: COPY into a staging table, then one INSERT … ON CONFLICT per batch.

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
from connectra.models.fields import WRITABLE_COLUMNS, Entity


@dataclass
class UpsertResult:
    inserted: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    duplicates: int = 0

    def merge(self, other: UpsertResult) -> None:
        self.inserted.extend(other.inserted)
        self.updated.extend(other.updated)
        self.duplicates += other.duplicates


def dedupe_last_wins(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the last row of each uuid, in first-seen order; return (rows, duplicates dropped)."""
    latest: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        latest[row["uuid"]] = row
    return list(latest.values()), len(rows) - len(latest)


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
) -> UpsertResult:
    """Upsert `rows` (from `RecordIn.to_row()`) inside the caller's transaction."""
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
    staging = sql.Identifier(_staging_name(entity))
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    # Rows go in uuid order so concurrent batches lock rows in one order (no deadlocks).
    unique_rows.sort(key=lambda row: row["uuid"].int)  # uuid order, compared as ints (fast)
    with conn.cursor(row_factory=tuple_row) as cursor:
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, column_list)) as copy:
            for row in unique_rows:
                copy.write_row([row.get(column) for column in columns])
        updates = sql.SQL(", ").join(
            sql.SQL("{col} = excluded.{col}").format(col=sql.Identifier(column))
            for column in columns
            if column != "uuid"
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {table} AS t ({cols}, created_at, updated_at) "
                "SELECT {cols}, now(), now() FROM {staging} ORDER BY uuid "
                "ON CONFLICT (uuid) DO UPDATE SET {updates}, updated_at = now(), deleted_at = NULL "
                "RETURNING t.uuid, (xmax = 0) AS inserted"
            ).format(
                table=sql.Identifier(entity.value),
                cols=column_list,
                staging=staging,
                updates=updates,
            )
        )
        result = UpsertResult(duplicates=duplicates)
        for record_uuid, inserted in cursor.fetchall():
            (result.inserted if inserted else result.updated).append(record_uuid)
    if enqueue_search:
        outbox.enqueue(conn, entity.value, [*result.inserted, *result.updated], "upsert")
    return result
