"""The PostgreSQL search engine: VQL compiled to SQL, keyset paging, two-phase fetch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row

from connectra.db import search_structures
from connectra.db.pool import connection
from connectra.models.fields import Entity
from connectra.search.engine import AggregateResult, CountResult, SearchPage, bounded
from connectra.search.postgres_aggregate import aggregate
from connectra.search.rows import load_page_rows
from connectra.vql.aggregation import AggregateQuery
from connectra.vql.ast import Query, SortValue
from connectra.vql.cursor import encode_cursor
from connectra.vql.sql import CompiledSQL, compile_count, compile_search


def _execute(conn: Connection[Any], compiled: CompiledSQL) -> list[dict[str, Any]]:
    with conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        if compiled.settings:
            # Transaction-local (is_local): never leaks into the pooled connection. One
            # round trip for all of them.
            names = list(compiled.settings)
            calls = sql.SQL(", ").join(
                sql.SQL("set_config({}, {}, true)").format(sql.Literal(name), sql.Placeholder())
                for name in names
            )
            cursor.execute(
                sql.SQL("SELECT {}").format(calls), [compiled.settings[n] for n in names]
            )
        # Never prepared: each search is planned for its values (see vql.sql.PAGE_SETTINGS).
        return cursor.execute(compiled.statement, compiled.params, prepare=False).fetchall()


class PostgresSearchEngine:
    name = "postgres"

    def __init__(self, cursor_secret: str) -> None:
        self.cursor_secret = cursor_secret

    def search(self, conn: Connection[Any], entity: Entity, query: Query) -> SearchPage:
        found = _execute(conn, compile_search(query))
        has_more = len(found) > query.limit
        found = found[: query.limit]
        uuid_column = f"sort_{len(query.sort) - 1}"  # the last sort key is always uuid
        rows = load_page_rows(conn, query, [row[uuid_column] for row in found])
        next_cursor = None
        if has_more and found:
            last = found[-1]
            values: tuple[SortValue, ...] = tuple(
                _sort_value(last[f"sort_{index}"]) for index in range(len(query.sort))
            )
            next_cursor = encode_cursor(values, query.fingerprint, self.cursor_secret)
        return SearchPage(data=rows, next_cursor=next_cursor, page=query.page, limit=query.limit)

    def count(self, conn: Connection[Any], entity: Entity, query: Query) -> int:
        return int(_execute(conn, compile_count(query))[0]["count"])

    def count_up_to(
        self, conn: Connection[Any], entity: Entity, query: Query, up_to: int | None
    ) -> CountResult:
        found = _execute(conn, compile_count(query, up_to=up_to))[0]["count"]
        return bounded(int(found), up_to)

    def aggregate(self, conn: Connection[Any], query: AggregateQuery) -> AggregateResult:
        return AggregateResult.model_validate(aggregate(conn, query))

    def health(self) -> dict[str, Any]:
        try:
            with connection() as conn:
                present = search_structures.status(conn)
            return {
                "ok": present["set"] == "postgres",
                "backend": self.name,
                "search_structures": present["set"],
                "missing": present["missing"],
            }
        except Exception as exc:  # health reports, never raises
            return {"ok": False, "backend": self.name, "error": type(exc).__name__}


def _sort_value(value: Any) -> SortValue:
    if value is None or isinstance(value, str | int | float | datetime):
        return value
    return str(value)  # uuid
