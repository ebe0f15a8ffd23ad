"""Search benchmark: p50/p95/p99 of a fixed VQL mix on the PostgreSQL engine, with and
without the search indexes (migration 0002), over 1M contacts and 100k companies.

The database is migrated to head first (migration 0004 adds the stored search columns and
their indexes) and ANALYZEd. The data set (`connectra.local.sample`, loaded with COPY) lives
in its own database on
DATABASE_URL's server or the private cluster, `connectra_bench` (`connectra_bench_quick`
for --quick: 100k contacts, 10k companies) and is reused when already loaded. The "without
indexes" run drops the `vql_*` indexes inside a transaction and rolls it back, so the
indexes are back afterwards at no cost. The DSL compile time belongs to bench/dsl.py.

    .venv/bin/python -m bench.search [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import RESULTS, machine, summary_ms, write_result
from connectra.db import migrate
from connectra.local import postgres, sample
from connectra.models.fields import TABLE_COLUMNS, Entity
from connectra.models.identity import company_uuid, contact_uuid
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.parse import parse_request

SECRET = "bench-secret"
ENGINE = PostgresSearchEngine(cursor_secret=SECRET)
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SIZES = {False: (1_000_000, 100_000), True: (100_000, 10_000)}

QUERIES: list[tuple[str, Entity, dict[str, Any]]] = [
    (
        "shuffle title + country, newest first",
        Entity.CONTACTS,
        {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "software engineer"}]
                },
                "keyword_match": {"must": {"country": "united states"}},
            },
            "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
        },
    ),
    (
        "exact phrase title",
        Entity.CONTACTS,
        {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "product manager",
                            "search_type": "exact",
                        }
                    ]
                }
            }
        },
    ),
    (
        "fuzzy title + seniority",
        Entity.CONTACTS,
        {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "enginer", "fuzzy": True}]
                },
                "keyword_match": {"must": {"seniority": "senior"}},
            }
        },
    ),
    (
        "substring last name",
        Entity.CONTACTS,
        {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "last_name", "text_value": "ows", "search_type": "substring"}
                    ]
                }
            }
        },
    ),
    (
        "keywords + array, sorted by last name",
        Entity.CONTACTS,
        {
            "where": {
                "keyword_match": {
                    "must": {"seniority": ["director", "vp"], "departments": "engineering"}
                }
            },
            "order_by": [{"order_by": "last_name"}],
        },
    ),
    (
        "company range + company array",
        Entity.CONTACTS,
        {
            "where": {
                "range_query": {"must": {"company_employees_count": {"gte": 500, "lte": 5000}}},
                "keyword_match": {"must": {"company_industries": "biotechnology"}},
            }
        },
    ),
    (
        "date range, newest first, populated",
        Entity.CONTACTS,
        {
            "where": {"range_query": {"must": {"created_at": {"gte": "2024-06-01"}}}},
            "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
            "company_config": {"populate": True, "select_columns": ["name", "website"]},
        },
    ),
    (
        "companies: industry + size, largest first",
        Entity.COMPANIES,
        {
            "where": {
                "keyword_match": {"must": {"industries": ["internet", "computer software"]}},
                "range_query": {"must": {"employees_count": {"gte": 200}}},
            },
            "order_by": [{"order_by": "employees_count", "order_direction": "desc"}],
        },
    ),
    (
        "companies: substring name",
        Entity.COMPANIES,
        {
            "where": {
                "text_matches": {
                    "must": [
                        {"filter_key": "name", "text_value": "dynamic", "search_type": "substring"}
                    ]
                }
            }
        },
    ),
    (
        "deep page via search_after",
        Entity.CONTACTS,
        {
            "where": {"keyword_match": {"must": {"email_status": "verified"}}},
            "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
            "limit": 100,
        },
    ),
]


def database_url(quick: bool) -> str:
    server = postgres.server_url()
    url = postgres.ensure_database(
        postgres.with_database(server, "connectra_bench_quick" if quick else "connectra_bench")
    )
    migrate.upgrade(url)
    return url


def _search_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'vql\\_%'"
    ).fetchall()
    return [row["indexname"] for row in rows]


def _company_records(count: int) -> Iterator[list[Any]]:
    for index, row in enumerate(sample.company_rows(count)):
        row["uuid"] = company_uuid(row["normalized_domain"], row["name"], row["linkedin_url"])
        row["created_at"] = row["updated_at"] = EPOCH + timedelta(minutes=index * 7)
        yield [row.get(column) for column in TABLE_COLUMNS[Entity.COMPANIES]]


def _contact_records(count: int, companies: list[dict[str, Any]]) -> Iterator[list[Any]]:
    span = timedelta(days=730) / count
    for index, row in enumerate(sample.contact_rows(count, companies)):
        row["uuid"] = contact_uuid(
            row["email"], row["first_name"], row["last_name"], row["linkedin_url"]
        )
        row["created_at"] = row["updated_at"] = EPOCH + span * index
        yield [row.get(column) for column in TABLE_COLUMNS[Entity.CONTACTS]]


def _copy(conn: psycopg.Connection[Any], entity: Entity, rows: Iterator[list[Any]]) -> None:
    columns = ", ".join(TABLE_COLUMNS[entity])
    with conn.cursor().copy(f"COPY {entity.value} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def ensure_loaded(url: str, contacts: int, companies: int) -> dict[str, Any]:
    """Load the data set unless it is already there; returns what was done and how long."""
    indexes = importlib.import_module("connectra.db.migrations.versions.0002_search_indexes")
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        conn.execute(indexes.FUNCTIONS)  # a reused database runs the current functions
        present = conn.execute("SELECT count(*) AS n FROM contacts").fetchone()
        if present and present["n"] == contacts:
            # Reused: fresh statistics all the same (a migration may have added columns,
            # expression statistics or indexes since the last ANALYZE).
            conn.execute("ANALYZE contacts")
            conn.execute("ANALYZE companies")
            return {"loaded": False}
        started = time.perf_counter()
        conn.execute("TRUNCATE contacts, companies, filters_data, search_outbox CASCADE")
        # COPY first, build the indexes once after: exactly the search indexes the migrations
        # at head define (their definitions are read back before they are dropped).
        definitions = [
            row["indexdef"]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' AND indexname LIKE 'vql\\_%'"
            ).fetchall()
        ]
        for name in _search_indexes(conn):
            conn.execute(f"DROP INDEX {name}")
        company_data = sample.company_rows(companies)
        with conn.transaction():
            _copy(conn, Entity.COMPANIES, _company_records(companies))
            _copy(conn, Entity.CONTACTS, _contact_records(contacts, company_data))
        copied = time.perf_counter() - started
        conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in definitions:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE contacts")
        conn.execute("VACUUM ANALYZE companies")
        return {
            "loaded": True,
            "copy_seconds": round(copied, 1),
            "index_seconds": round(time.perf_counter() - started - copied, 1),
        }


def _deep_cursor(conn: psycopg.Connection[Any], vql: dict[str, Any], pages: int) -> str | None:
    """The cursor after `pages` pages: the deep-paging query resumes there."""
    cursor = None
    for _ in range(pages):
        query = parse_request(
            {**vql, "search_after": cursor}, Entity.CONTACTS, cursor_secret=SECRET
        )
        cursor = ENGINE.search(conn, Entity.CONTACTS, query).next_cursor
    return cursor


def time_queries(
    conn: psycopg.Connection[Any], repetitions: int, deep_pages: int
) -> dict[str, Any]:
    per_query: dict[str, Any] = {}
    overall: list[float] = []
    for name, entity, vql in QUERIES:
        body = dict(vql)
        if "search_after" in name:
            body["search_after"] = _deep_cursor(conn, vql, deep_pages)
        query = parse_request(body, entity, cursor_secret=SECRET)
        ENGINE.search(conn, entity, query)  # warm the cache and the plan
        samples = []
        rows = 0
        for _ in range(repetitions):
            started = time.perf_counter()
            rows = len(ENGINE.search(conn, entity, query).data)
            samples.append(time.perf_counter() - started)
        conn.rollback()
        overall.extend(samples)
        per_query[name] = {**summary_ms(samples), "rows": rows}
    return {"queries": per_query, "overall": summary_ms(overall)}


def run(quick: bool = False) -> dict[str, Any]:
    contacts, companies = SIZES[quick]
    url = database_url(quick)
    load = ensure_loaded(url, contacts, companies)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        with_indexes = time_queries(conn, repetitions=30 if quick else 50, deep_pages=20)
        # Drop the search indexes inside a transaction and roll back: nothing to rebuild.
        conn.execute("SET LOCAL statement_timeout = '120s'")
        dropped = _search_indexes(conn)
        for name in dropped:
            conn.execute(f"DROP INDEX {name}")
        without = time_queries_in_transaction(conn, repetitions=3 if not quick else 5)
        conn.rollback()
    ratio = {
        name: round(without["queries"][name]["p50_ms"] / max(stats["p50_ms"], 0.001), 1)
        for name, stats in with_indexes["queries"].items()
    }
    result = {
        "machine": machine(),
        "quick": quick,
        "contacts": contacts,
        "companies": companies,
        "load": load,
        "with_indexes": with_indexes,
        "without_indexes": without,
        "indexes_dropped": len(dropped),
        "p50_ratio_without_over_with": ratio,
        "overall_p95_ratio": round(
            without["overall"]["p95_ms"] / max(with_indexes["overall"]["p95_ms"], 0.001), 1
        ),
        "target_p95_ms": 50,
        "dsl_compile": "see bench/dsl.py",
    }
    cost_file = RESULTS / "search_write_cost.json"
    if cost_file.exists():  # from `--write-cost`, kept apart: it needs scratch databases
        result["write_cost"] = json.loads(cost_file.read_text())
    write_result("search", result)
    (RESULTS / "search.md").write_text(markdown(result))
    return result


def time_queries_in_transaction(conn: psycopg.Connection[Any], repetitions: int) -> dict[str, Any]:
    """Like time_queries, but never ends the caller's transaction (it holds the drops)."""
    per_query: dict[str, Any] = {}
    overall: list[float] = []
    for name, entity, vql in QUERIES:
        body = dict(vql)
        if "search_after" in name:
            body["search_after"] = _deep_cursor(conn, vql, 20)
        query = parse_request(body, entity, cursor_secret=SECRET)
        samples = []
        for _ in range(repetitions):
            started = time.perf_counter()
            ENGINE.search(conn, entity, query)
            samples.append(time.perf_counter() - started)
        overall.extend(samples)
        per_query[name] = summary_ms(samples)
    return {"queries": per_query, "overall": summary_ms(overall)}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Search benchmark (PostgreSQL engine): {result['contacts']:,} contacts, "
        f"{result['companies']:,} companies",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
        f"{result['machine']['when']}. Target: p95 < {result['target_p95_ms']} ms.",
        "",
        "| query | rows | p50 ms | p95 ms | p99 ms | p50 without indexes | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in result["with_indexes"]["queries"].items():
        without = result["without_indexes"]["queries"][name]
        lines.append(
            f"| {name} | {stats['rows']} | {stats['p50_ms']:.1f} | {stats['p95_ms']:.1f} | "
            f"{stats['p99_ms']:.1f} | {without['p50_ms']:.1f} | "
            f"{result['p50_ratio_without_over_with'][name]}x |"
        )
    overall, bare = result["with_indexes"]["overall"], result["without_indexes"]["overall"]
    lines += [
        f"| **overall** | | **{overall['p50_ms']:.1f}** | **{overall['p95_ms']:.1f}** | "
        f"**{overall['p99_ms']:.1f}** | {bare['p50_ms']:.1f} | "
        f"p95 {result['overall_p95_ratio']}x |",
        "",
        "Without indexes: the `vql_*` indexes dropped in a rolled-back transaction "
        f"({result['indexes_dropped']} indexes; the stored search columns of migration 0004 "
        "stay, they are columns).",
        "",
    ]
    cost = result.get("write_cost")
    if cost:
        lines += [
            f"Write cost ({cost['rows']:,} contacts into a migrated scratch database, best of 2; "
            "`--write-cost`):",
            "",
            "| revision | COPY s | INSERT … ON CONFLICT DO UPDATE s |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {revision} | {cost[revision]['copy_s']} | {cost[revision]['upsert_s']} |"
            for revision in cost
            if revision not in ("rows", "machine")
        ]
        lines.append("")
    return "\n".join(lines)


WRITE_ROWS = 100_000


def _write_cost_once(server: str, revision: str) -> dict[str, float]:
    """Seconds to COPY WRITE_ROWS contacts into a migrated, indexed scratch database, then to
    upsert them all again (INSERT … ON CONFLICT DO UPDATE from a staging table, every title
    changed so every search column and index entry is recomputed)."""
    name = f"connectra_writecost_{revision}"
    url = postgres.with_database(server, name)
    admin = postgres.with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    postgres.ensure_database(url)
    try:
        migrate.upgrade(url, revision)
        companies = sample.company_rows(WRITE_ROWS // 10)
        columns = ", ".join(TABLE_COLUMNS[Entity.CONTACTS])
        with psycopg.connect(url, autocommit=True) as conn:
            _copy(conn, Entity.COMPANIES, _company_records(WRITE_ROWS // 10))
            contacts = list(_contact_records(WRITE_ROWS, companies))
            started = time.perf_counter()
            _copy(conn, Entity.CONTACTS, iter(contacts))
            copied = time.perf_counter() - started
            conn.execute(
                f"CREATE UNLOGGED TABLE staging AS SELECT {columns} FROM contacts WITH NO DATA"
            )
            title = TABLE_COLUMNS[Entity.CONTACTS].index("title")
            with conn.cursor().copy(f"COPY staging ({columns}) FROM STDIN") as copy:
                for row in contacts:
                    row[title] = f"{row[title] or ''} ii"
                    copy.write_row(row)
            updates = ", ".join(f"{c} = excluded.{c}" for c in TABLE_COLUMNS[Entity.CONTACTS])
            started = time.perf_counter()
            conn.execute(
                f"INSERT INTO contacts ({columns}) SELECT {columns} FROM staging "
                f"ON CONFLICT (uuid) DO UPDATE SET {updates}"
            )
            upserted = time.perf_counter() - started
        return {"copy_s": round(copied, 2), "upsert_s": round(upserted, 2)}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_cost(revisions: list[str], repetitions: int = 2) -> dict[str, Any]:
    """The write cost of the search schema: best of `repetitions` runs per revision."""
    server = postgres.server_url()
    result: dict[str, Any] = {"rows": WRITE_ROWS, "machine": machine()}
    for revision in revisions:
        runs = [_write_cost_once(server, revision) for _ in range(repetitions)]
        result[revision] = {key: min(run[key] for run in runs) for key in runs[0]}
    write_result("search_write_cost", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100k contacts, 10k companies")
    parser.add_argument(
        "--write-cost",
        nargs="*",
        metavar="REVISION",
        help="only measure COPY + upsert of 100k contacts at these revisions (default 0003 head)",
    )
    args = parser.parse_args()
    if args.write_cost is not None:
        print(json.dumps(write_cost(args.write_cost or ["0003", "head"]), indent=2))
        return
    result = run(quick=args.quick)
    print(markdown(result))
    print(json.dumps(result["load"]))


if __name__ == "__main__":
    main()
