"""A query's rows, page by page, by keyset paging over the VQL SQL compiler's statement.

Each page asks `compile_search` for the next `page_rows` uuids strictly after the last
row's sort values (`search_after`: an index range scan, never an OFFSET), then reads those
rows (projected, companies attached) as a search page does. Each page is one short
transaction on a pooled connection: nothing is held between pages, so a long export pins
no connection. Keyset paging never repeats or skips a row that exists for the whole run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from connectra.db.pool import connection
from connectra.export.ranges import KeyRange
from connectra.search.rows import load_page_rows
from connectra.vql.ast import Direction, Query, SortValue
from connectra.vql.sql import CompiledSQL, compile_count, compile_search


def sorted_by_uuid_only(query: Query) -> bool:
    """True when the order is the uuid alone, ascending: uuid ranges are then file order."""
    return (
        len(query.sort) == 1
        and query.sort[0].field.name == "uuid"
        and query.sort[0].direction is Direction.ASC
    )


def _sort_value(value: Any) -> SortValue:
    if value is None or isinstance(value, str | int | float | datetime):
        return value
    return str(value)  # uuid


def _run(conn: Connection[Any], compiled: CompiledSQL) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    for name, value in compiled.settings.items():
        cursor.execute("SELECT set_config(%s, %s, true)", (name, value))  # transaction-local
    return cursor.execute(compiled.statement, compiled.params).fetchall()


def count_rows(query: Query) -> int:
    with connection() as conn, conn.transaction():
        return int(_run(conn, compile_count(query))[0]["count"])


def iter_pages(
    query: Query, page_rows: int, key_range: KeyRange | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Pages of rows in the query's order; with `key_range` (uuid-ordered queries only),
    only the rows whose uuid lies in it."""
    if key_range is not None and not sorted_by_uuid_only(query):
        raise ValueError("a key range needs a query ordered by uuid alone")
    uuid_column = f"sort_{len(query.sort) - 1}"  # the last sort key is always uuid
    after: tuple[SortValue, ...] | None = None
    if key_range is not None and key_range.after is not None:
        after = (str(key_range.after),)
    while True:
        page_query = replace(query, limit=page_rows, page=1, search_after=after)
        with connection() as conn, conn.transaction():
            found = _run(conn, compile_search(page_query))[:page_rows]
            ids: list[uuid.UUID] = [row[uuid_column] for row in found]
            if key_range is not None:
                ids = [record_id for record_id in ids if key_range.contains(record_id)]
            rows = load_page_rows(conn, page_query, ids) if ids else []
        if rows:
            yield rows
        if len(found) < page_rows or len(ids) < len(found):
            return  # the last page, or the key range ended inside this page
        last = found[-1]
        after = tuple(_sort_value(last[f"sort_{i}"]) for i in range(len(query.sort)))
