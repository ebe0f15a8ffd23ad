"""Pages that cross from one value to the next, walking contacts by a few-valued company key.

A client walking contacts sorted by `company_country` (city, state) pages through each
value's contacts and, once per value, gets a page that holds the end of one value and the
start of the next. This times that page: the cursor is `left` rows before the end of the
first value's matching contacts (in the walk's uuid order), over the bench database
(bench/search.py loads it), each key both ways, with and without a keyword filter; and
the same for contacts sorted by country with a filter on two countries (the pinned walk).

    DATABASE_URL=postgresql://postgres@127.0.0.1:55432/connectra \\
        .venv/bin/python -m bench.value_boundaries [--repetitions 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bench.common import RESULTS, machine, summary_ms
from bench.search import ENGINE, SECRET, existing_database_url
from connectra.models.fields import Entity
from connectra.vql.parse import parse_request

KEYS = ("company_country", "company_state", "company_city")
FILTER = {"keyword_match": {"must": {"email_status": "verified"}}}
LEFT = 10  # rows of the first value after the cursor: fewer than a page of 25
# A filter pinning the sort key to two of its values (vql/pinned_sort.py): the page
# crossing from the first to the second.
PINNED = ("germany", "france")


def boundary_cursor(
    conn: psycopg.Connection[Any], key: str, direction: str, filtered: bool
) -> tuple[Any, Any]:
    """(first value, uuid) of the contact LEFT rows before the end of the first company
    value's (matching) contacts in uuid order."""
    column = sql.Identifier(key.removeprefix("company_"))
    order = sql.SQL(direction.upper())
    first = conn.execute(
        sql.SQL(
            "SELECT {c} AS value FROM companies WHERE deleted_at IS NULL AND {c} IS NOT NULL "
            'ORDER BY {c} COLLATE "C" {o} LIMIT 1'
        ).format(c=column, o=order)
    ).fetchone()
    assert first is not None
    matching = sql.SQL(" AND lower(c.email_status) = 'verified'" if filtered else "")
    row = conn.execute(
        sql.SQL(
            "SELECT c.uuid FROM contacts AS c JOIN companies AS co ON co.uuid = c.company_id "
            "WHERE co.{c} = %(value)s AND co.deleted_at IS NULL AND c.deleted_at IS NULL{m} "
            "ORDER BY c.uuid {reverse} OFFSET %(left)s LIMIT 1"
        ).format(c=column, m=matching, reverse=sql.SQL("DESC" if direction == "asc" else "ASC")),
        {"value": first["value"], "left": LEFT},
    ).fetchone()
    assert row is not None
    return first["value"], row["uuid"]


def pinned_cursor(conn: psycopg.Connection[Any], direction: str) -> tuple[Any, Any]:
    """(first value, uuid) of the contact LEFT rows before the end of the first country
    the filter PINNED keeps, in the walk's uuid order."""
    first = conn.execute(
        "SELECT country AS value FROM contacts WHERE lower(country) = ANY(%(kept)s) "
        f'ORDER BY country COLLATE "C" {direction} LIMIT 1',
        {"kept": list(PINNED)},
    ).fetchone()
    assert first is not None
    row = conn.execute(
        "SELECT uuid FROM contacts WHERE country = %(value)s AND deleted_at IS NULL "
        f"ORDER BY uuid {'DESC' if direction == 'asc' else 'ASC'} OFFSET %(left)s LIMIT 1",
        {"value": first["value"], "left": LEFT},
    ).fetchone()
    assert row is not None
    return first["value"], row["uuid"]


def _cases(conn: psycopg.Connection[Any]) -> Iterator[tuple[str, dict[str, Any], tuple[Any, Any]]]:
    """(name, request body, cursor) of every page timed."""
    for key in KEYS:
        for direction in ("asc", "desc"):
            for filtered in (False, True):
                body: dict[str, Any] = {
                    "order_by": [{"order_by": key, "order_direction": direction}]
                }
                if filtered:
                    body["where"] = FILTER
                cursor = boundary_cursor(conn, key, direction, filtered)
                yield f"{key} {direction}{' + keyword' if filtered else ''}", body, cursor
    for direction in ("asc", "desc"):
        body = {
            "where": {"keyword_match": {"must": {"country": list(PINNED)}}},
            "order_by": [{"order_by": "country", "order_direction": direction}],
        }
        yield (
            f"country {direction}, filtered on {len(PINNED)} countries",
            body,
            pinned_cursor(conn, direction),
        )


def run(repetitions: int) -> dict[str, Any]:
    pages: dict[str, Any] = {}
    with psycopg.connect(existing_database_url(False), row_factory=dict_row) as conn:
        for name, body, cursor in _cases(conn):
            query = parse_request(body, Entity.CONTACTS, cursor_secret=SECRET)
            query = dataclasses.replace(query, search_after=cursor)
            ENGINE.search(conn, Entity.CONTACTS, query)  # warm
            samples = []
            for _ in range(repetitions):
                started = time.perf_counter()
                page = ENGINE.search(conn, Entity.CONTACTS, query)
                samples.append(time.perf_counter() - started)
            conn.rollback()
            pages[name] = {"rows": len(page.data), **summary_ms(samples)}
            print(name, pages[name], flush=True)
    return {"machine": machine(), "left": LEFT, "pages": pages}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Pages crossing a value boundary (contacts by a few-valued company key)",
        "",
        f"Cursor {result['left']} rows before the end of the first value; "
        f"{result['machine']['when']}. `.venv/bin/python -m bench.value_boundaries`.",
        "",
        "| sort | rows | p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, page in result["pages"].items():
        lines.append(f"| {name} | {page['rows']} | {page['p50_ms']} | {page['p95_ms']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)
    result = run(args.repetitions)
    (RESULTS / "value_boundaries.md").write_text(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
