"""The filter catalogue and its dropdown values (`filters`, `filters_data`).

`filters_data` holds, for each stored filter (direct_derived = false), every distinct value
of the field among live records: `value` lower-cased (the key), `display_value` one
original spelling, and `count` the live records holding it. Writers keep it current with
deltas (db/filter_counts.py); `rebuild_filter_values` recounts from scratch. Direct-derived
filters are read from the record tables instead. A contact's `company_*` filter shows its
companies' values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row

from connectra.errors import ValidationFailed
from connectra.models.fields import FIELDS_BY_ENTITY as FIELDS
from connectra.models.fields import TABLE_COLUMNS, Entity, FieldKind, company_field_of

# The companies' `uuid` filter lists companies by name ("Name" in the catalogue).
_DISPLAY_COLUMN = {(Entity.COMPANIES, "uuid"): "name"}


@dataclass(frozen=True)
class FilterSource:
    """Where a filter's values live: `filters_data` rows of (service, key), or a table column."""

    service: Entity
    key: str
    direct_derived: bool


def list_filters(conn: Connection[Any], service: Entity) -> list[dict[str, Any]]:
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT key, service, display_name, filter_type, direct_derived FROM filters "
            "WHERE service = %s AND active ORDER BY id",
            (service.value,),
        )
        .fetchall()
    )


def resolve_filter(conn: Connection[Any], service: Entity, key: str) -> FilterSource:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT direct_derived FROM filters WHERE service = %s AND key = %s AND active",
            (service.value, key),
        )
        .fetchone()
    )
    if row is None:
        raise ValidationFailed(
            f"filter_key: unknown filter {key!r} for {service.value}",
            [{"path": "filter_key", "message": "unknown filter", "type": "unknown_field"}],
        )
    company_key = company_field_of(key) if service is Entity.CONTACTS else None
    if company_key is not None:
        return FilterSource(Entity.COMPANIES, company_key, row["direct_derived"])
    return FilterSource(service, key, row["direct_derived"])


def filter_values(
    conn: Connection[Any],
    source: FilterSource,
    search_text: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """One page of (value, display_value, count), most frequent first, optionally searched
    (case-insensitive contains)."""
    pattern = f"%{_escape_like(search_text.strip().lower())}%" if search_text else None
    params: dict[str, Any] = {
        "service": source.service.value,
        "key": source.key,
        "pattern": pattern,
        "limit": limit,
        "offset": offset,
    }
    # A filter shown by another column (companies' uuid, shown as "Name") is searched by
    # what the user sees: "Tyrell" finds the company, not a uuid containing "tyrell".
    searched = (
        sql.SQL("lower(display_value)")
        if display_column(source.service, source.key) != source.key
        else sql.SQL("value")
    )
    statement: sql.Composable
    if not source.direct_derived:
        statement = sql.SQL(
            "SELECT value, display_value, count FROM filters_data "
            "WHERE service = %(service)s AND filter_key = %(key)s AND count > 0 "
            "AND (%(pattern)s::text IS NULL OR {searched} LIKE %(pattern)s) "
            "ORDER BY count DESC, value LIMIT %(limit)s OFFSET %(offset)s"
        ).format(searched=searched)
    else:
        counted = _grouped_values(source.service, source.key)
        statement = sql.SQL(
            "SELECT value, display_value, count FROM ({counted}) AS counted "
            "WHERE %(pattern)s::text IS NULL OR {searched} LIKE %(pattern)s "
            "ORDER BY count DESC, value LIMIT %(limit)s OFFSET %(offset)s"
        ).format(counted=counted, searched=searched)
    return conn.cursor(row_factory=dict_row).execute(statement, params).fetchall()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def display_column(entity: Entity, key: str) -> str:
    """The column a filter's values are shown by (usually the filter's own)."""
    return _DISPLAY_COLUMN.get((entity, key), key)


def _grouped_values(entity: Entity, key: str, only: sql.Composable | None = None) -> sql.Composed:
    """SELECT value, display_value, count over live rows (of the values in `only`, if given)."""
    table = sql.Identifier(entity.value)
    column = sql.Identifier(key)
    display = sql.Identifier(display_column(entity, key))
    field = FIELDS[entity][key]
    if field.is_array:
        restrict = sql.SQL("AND lower(item) = ANY({})").format(only) if only else sql.SQL("")
        return sql.SQL(
            "SELECT lower(item) AS value, min(item) AS display_value, count(*) AS count "
            "FROM {table} AS t, unnest(t.{column}) AS item WHERE t.deleted_at IS NULL {restrict} "
            "GROUP BY 1"
        ).format(table=table, column=column, restrict=restrict)
    text = sql.SQL("{}::text").format(column)
    restrict = (
        sql.SQL("AND lower({}) = ANY({})").format(text, only)
        if only and field.kind is not FieldKind.UUID
        else sql.SQL("AND {} = ANY({}::uuid[])").format(column, only)
        if only
        else sql.SQL("")
    )
    return sql.SQL(
        "SELECT lower({text}) AS value, coalesce(min({display}::text), min({text})) "
        "AS display_value, count(*) AS count FROM {table} "
        "WHERE deleted_at IS NULL AND {column} IS NOT NULL {restrict} GROUP BY 1"
    ).format(text=text, display=display, table=table, column=column, restrict=restrict)


def stored_filter_keys(conn: Connection[Any], entity: Entity) -> list[str]:
    """The entity's own columns whose values `filters_data` stores."""
    rows = conn.execute(
        "SELECT key FROM filters WHERE service = %s AND NOT direct_derived AND active",
        (entity.value,),
    ).fetchall()
    keys = [row["key"] if isinstance(row, Mapping) else row[0] for row in rows]
    return [key for key in keys if key in TABLE_COLUMNS[entity]]


def rebuild_filter_values(conn: Connection[Any], entity: Entity) -> None:
    """Recount every stored filter of the entity from scratch (repair, or after a bulk load).

    The lock makes concurrent writers wait to apply their count changes until this recount
    commits: its snapshot, taken after the lock, holds none of their uncommitted writes,
    so their deltas then land on top of it (db/filter_counts.py).
    """
    conn.execute("LOCK TABLE filters_data IN SHARE ROW EXCLUSIVE MODE")
    for key in stored_filter_keys(conn, entity):
        conn.execute(
            "DELETE FROM filters_data WHERE service = %s AND filter_key = %s", (entity.value, key)
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO filters_data (service, filter_key, value, display_value, count) "
                "SELECT %(service)s, %(key)s, value, display_value, count FROM ({counted}) AS c"
            ).format(counted=_grouped_values(entity, key)),
            {"service": entity.value, "key": key},
        )
