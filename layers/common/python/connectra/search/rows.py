"""Phase two of a search: the rows of the found uuids, projected, in the found order, with
their companies attached when asked (shared by the PostgreSQL and OpenSearch engines)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row

from connectra.models.fields import Entity
from connectra.vql.ast import Query


def fetch_rows(
    conn: Connection[Any], entity: Entity, ids: Sequence[uuid.UUID], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Live rows of `ids` in the order of `ids` (ids of rows deleted since are skipped)."""
    if not ids:
        return []
    wanted = ("uuid", *(name for name in columns if name != "uuid"))
    statement = sql.SQL(
        "SELECT {columns} FROM {table} WHERE uuid = ANY(%(ids)s::uuid[]) AND deleted_at IS NULL"
    ).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, wanted)),
        table=sql.Identifier(entity.value),
    )
    found = conn.cursor(row_factory=dict_row).execute(statement, {"ids": list(ids)}).fetchall()
    by_id = {row["uuid"]: row for row in found}
    return [by_id[record_id] for record_id in ids if record_id in by_id]


def attach_companies(
    conn: Connection[Any], contacts: list[dict[str, Any]], columns: Sequence[str]
) -> None:
    """Set `company` on each contact: its live company's `columns`, or None."""
    company_ids = list(dict.fromkeys(row["company_id"] for row in contacts if row["company_id"]))
    companies = fetch_rows(conn, Entity.COMPANIES, company_ids, columns)
    by_id = {company["uuid"]: company for company in companies}
    for contact in contacts:
        contact["company"] = by_id.get(contact["company_id"])


def load_page_rows(
    conn: Connection[Any], query: Query, ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """The rows a search page shows: `query.select_columns`, plus `company` when populated."""
    columns = list(query.select_columns)
    hidden_company_id = query.populate_company and "company_id" not in columns
    if hidden_company_id:
        columns.append("company_id")  # needed to join, not asked for
    rows = fetch_rows(conn, query.entity, ids, columns)
    if query.populate_company:
        attach_companies(conn, rows, query.company_columns)
        if hidden_company_id:
            for row in rows:
                del row["company_id"]
    return rows
