"""Single-record data access for contacts and companies (get, create, update, delete)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.rows import dict_row

from connectra.db import outbox
from connectra.db.upsert import UpsertResult, bulk_upsert
from connectra.errors import Conflict, NotFound
from connectra.models.fields import TABLE_COLUMNS, Entity
from connectra.models.records import RECORD_MODELS, RecordIn


class RecordRepository:
    """Contacts or companies in PostgreSQL; every write enqueues its search-index work."""

    def __init__(self, entity: Entity, *, enqueue_search: bool) -> None:
        self.entity = entity
        self.enqueue_search = enqueue_search
        self._table = sql.Identifier(entity.value)
        self._columns = sql.SQL(", ").join(map(sql.Identifier, TABLE_COLUMNS[entity]))

    def get(
        self,
        conn: Connection[Any],
        record_id: uuid.UUID,
        *,
        include_deleted: bool = False,
        lock: bool = False,
    ) -> dict[str, Any] | None:
        """The record, or None; `lock` holds its row lock until the transaction ends."""
        query = sql.SQL("SELECT {cols}, deleted_at FROM {table} WHERE uuid = %s {lock}").format(
            cols=self._columns,
            table=self._table,
            # NO KEY UPDATE: the uuid never changes, so inserts of contacts referencing
            # a company being updated need not wait for it (their FK check's KEY SHARE).
            lock=sql.SQL("FOR NO KEY UPDATE" if lock else ""),
        )
        row = conn.cursor(row_factory=dict_row).execute(query, (record_id,)).fetchone()
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            return None
        if not include_deleted:
            row.pop("deleted_at")
        return row

    def require(
        self, conn: Connection[Any], record_id: uuid.UUID, *, lock: bool = False
    ) -> dict[str, Any]:
        row = self.get(conn, record_id, lock=lock)
        if row is None:
            raise NotFound(f"{self.entity.value[:-1]} {record_id} not found")
        return row

    def create(self, conn: Connection[Any], record: RecordIn) -> dict[str, Any]:
        """Insert a new record; 409 when a live record with the same id or key exists."""
        record_id = record.record_uuid()
        existing = self.get(conn, record_id, include_deleted=True)
        if existing is not None and existing["deleted_at"] is None:
            raise Conflict(
                f"{self.entity.value[:-1]} {record_id} already exists", {"uuid": str(record_id)}
            )
        duplicate_key = Conflict("a record with the same email or domain already exists")
        try:
            with conn.transaction():
                result = self.upsert_many(conn, [record])
                if result.updated and existing is None:
                    raise duplicate_key  # rolls back the update of the other record
        except errors.UniqueViolation as exc:
            raise duplicate_key from exc
        return self.require(conn, (result.inserted or result.updated)[0])

    def update(
        self, conn: Connection[Any], record_id: uuid.UUID, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply a partial update, validated as a whole record; the uuid never changes."""
        current = self.require(conn, record_id)
        generated = ("uuid", "created_at", "updated_at")
        merged = {key: value for key, value in current.items() if key not in generated}
        merged.update(changes)
        merged["uuid"] = record_id
        record = RECORD_MODELS[self.entity].model_validate(merged)
        row = record.to_row()
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
            for column in row
            if column != "uuid"
        )
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL(
                        "UPDATE {table} SET {assignments}, updated_at = now() "
                        "WHERE uuid = %(uuid)s AND deleted_at IS NULL"
                    ).format(table=self._table, assignments=assignments),
                    row,
                )
                if self.enqueue_search:
                    outbox.enqueue(conn, self.entity.value, [record_id], "upsert")
        except errors.UniqueViolation as exc:
            raise Conflict("another record already has this email or domain") from exc
        return self.require(conn, record_id)

    def soft_delete(self, conn: Connection[Any], record_id: uuid.UUID) -> None:
        with conn.transaction():
            deleted = conn.execute(
                sql.SQL(
                    "UPDATE {table} SET deleted_at = now(), updated_at = now() "
                    "WHERE uuid = %s AND deleted_at IS NULL"
                ).format(table=self._table),
                (record_id,),
            ).rowcount
            if not deleted:
                raise NotFound(f"{self.entity.value[:-1]} {record_id} not found")
            if self.enqueue_search:
                outbox.enqueue(conn, self.entity.value, [record_id], "delete")

    def upsert_many(
        self,
        conn: Connection[Any],
        records: Sequence[RecordIn],
        *,
        previous_columns: Sequence[str] = (),
    ) -> UpsertResult:
        return bulk_upsert(
            conn,
            self.entity,
            [record.to_row() for record in records],
            enqueue_search=self.enqueue_search,
            previous_columns=previous_columns,
        )

    @property
    def natural_key_column(self) -> str:
        """The column a record is also known by: a contact's email, a company's domain."""
        return "email" if self.entity is Entity.CONTACTS else "normalized_domain"

    def owners_by_natural_key(
        self, conn: Connection[Any], keys: Collection[str]
    ) -> dict[str, uuid.UUID]:
        """Lower-cased email/domain → the uuid of the live record that has it."""
        if not keys:
            return {}
        column = sql.Identifier(self.natural_key_column)
        statement = sql.SQL(
            "SELECT lower({col}) AS key, uuid FROM {table} "
            "WHERE lower({col}) = ANY(%s) AND deleted_at IS NULL"
        ).format(col=column, table=self._table)
        rows = conn.cursor(row_factory=dict_row).execute(statement, (list(keys),)).fetchall()
        return {row["key"]: row["uuid"] for row in rows}


def missing_companies(conn: Connection[Any], company_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among `company_ids` of no live company."""
    if not company_ids:
        return set()
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT uuid FROM companies WHERE uuid = ANY(%s) AND deleted_at IS NULL",
            (list(company_ids),),
        )
        .fetchall()
    )
    return set(company_ids) - {row["uuid"] for row in rows}
