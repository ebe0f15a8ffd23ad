"""Aggregations on the PostgreSQL engine: run `connectra.vql.aggregation_sql`'s statements
and hand their figures to `connectra.vql.aggregation.finish`.

All statements of one request run in one REPEATABLE READ transaction: the grouped scan
and the array statements see the same snapshot, so `total` and every count agree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from psycopg import Connection, sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from connectra.vql.aggregation import (
    AggregateQuery,
    DateHistogramAggregation,
    Figures,
    RangeAggregation,
    TermsAggregation,
    TermsFigures,
    finish,
)
from connectra.vql.aggregation_sql import (
    GroupingLayout,
    array_terms,
    compile_array_terms,
    compile_grouped,
)
from connectra.vql.sql import CompiledSQL


def _run(conn: Connection[Any], compiled: CompiledSQL) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    if compiled.settings:
        names = list(compiled.settings)
        calls = sql.SQL(", ").join(
            sql.SQL("set_config({}, {}, true)").format(sql.Literal(name), sql.Placeholder())
            for name in names
        )
        cursor.execute(sql.SQL("SELECT {}").format(calls), [compiled.settings[n] for n in names])
    return cursor.execute(compiled.statement, compiled.params, prepare=False).fetchall()


def aggregate(conn: Connection[Any], query: AggregateQuery) -> dict[str, Any]:
    """`{"total", "aggregations"}` for the query."""
    grouped, layout = compile_grouped(query)
    outer = conn.info.transaction_status is TransactionStatus.IDLE
    with conn.transaction():
        if outer:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = _run(conn, grouped)
        arrays = {
            item.name: _run(conn, compile_array_terms(query, item)) for item in array_terms(query)
        }
    total, figures = read_grouped(query, layout, rows)
    for name, found in arrays.items():
        figures[name] = read_array_terms(found)
    return {"total": total, "aggregations": finish(query, total, figures)}


def read_grouped(
    query: AggregateQuery, layout: GroupingLayout, rows: list[dict[str, Any]]
) -> tuple[int, dict[str, Figures]]:
    totals = next(row for row in rows if row["grouping_set"] == layout.total_grouping)
    figures: dict[str, Figures] = {}
    for item in query.aggregations:
        if isinstance(item, RangeAggregation):
            figures[item.name] = [int(totals[name]) for name in layout.range_columns[item.name]]
        elif item.name in layout.key_columns:
            key = layout.key_columns[item.name]
            mine = [row for row in rows if row["grouping_set"] == layout.grouping_values[item.name]]
            if isinstance(item, DateHistogramAggregation):
                figures[item.name] = _histogram(mine, key)
            else:
                assert isinstance(item, TermsAggregation)
                # The window's `with_value` counts every key, not only the kept ones.
                kept = [row for row in mine if row[key] is not None]
                figures[item.name] = TermsFigures(
                    top=[(str(row[key]), int(row["n"])) for row in kept],
                    with_value=int(kept[0]["with_value"]) if kept else 0,
                )
    return int(totals["n"]), figures


def _histogram(rows: list[dict[str, Any]], key: str) -> dict[date, int]:
    counts: dict[date, int] = {}
    for row in rows:
        start = row[key]
        if isinstance(start, datetime):
            counts[start.date()] = int(row["n"])
    return counts


def read_array_terms(rows: list[dict[str, Any]]) -> TermsFigures:
    top = [(str(row["key"]), int(row["n"])) for row in rows if row["kind"] == "bucket"]
    single = {row["kind"]: int(row["n"]) for row in rows if row["kind"] != "bucket"}
    return TermsFigures(top=top, with_value=single["with_value"], outside=single["outside"])
