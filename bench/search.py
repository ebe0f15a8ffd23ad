"""Search benchmark: every VQL query shape (bench/shapes.py, generated from the grammar)
on the PostgreSQL engine over 1M contacts and 100k companies: p50/p95 of the first page
and of the count per shape, each judged against the goal (page p95 <= 50 ms, count p95 <=
150 ms), with one exact count per shape for comparison and a full scan as the same-run
baseline.

The database is migrated to head first (the search structures of
`connectra.db.search_structures`) and ANALYZEd. The data set (`connectra.local.sample`,
loaded with COPY) lives in its own database on DATABASE_URL's server or the private
cluster, `connectra_bench` (`connectra_bench_quick` for --quick: 100k contacts, 10k
companies) and is reused when already loaded (`database_url` + `ensure_loaded` build it;
other benchmarks import them). The DSL compile time belongs to bench/dsl.py.

    .venv/bin/python -m bench.search [--quick] [--repetitions N] [--only TEXT] [--read-only]

--read-only times a database another checkout loaded (DATABASE_URL's server, the same
database name) as it is: no migration, no function refresh, no ANALYZE, and every
transaction read-only; the data set must already be there.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench import shapes
from bench.common import RESULTS, machine, results_dir, summary_ms, write_result
from connectra.db import migrate, search_structures
from connectra.local import postgres, sample
from connectra.models.fields import TABLE_COLUMNS, Entity, FieldKind
from connectra.models.identity import company_uuid, contact_uuid
from connectra.search.engine import COUNT_EXACT_UP_TO
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.ast import Query
from connectra.vql.parse import parse_request

SECRET = "bench-secret"
ENGINE = PostgresSearchEngine(cursor_secret=SECRET)
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SIZES = {False: (1_000_000, 100_000), True: (100_000, 10_000)}
TARGET_PAGE_P95_MS = 50
TARGET_COUNT_P95_MS = 150
EXACT_TIMEOUT_MS = 5_000
SLOW_SECONDS = 0.5
SLOW_REPETITIONS = 2


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
    # A reused database runs the current text functions (those of the newest migration
    # that defines them; 0002's are the ASCII-only originals).
    text = importlib.import_module("connectra.db.migrations.versions.0008_unicode_text")
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        conn.execute(text.functions_sql())
        conn.execute(text.FUZZY_FUNCTIONS)
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


def sample_values(conn: psycopg.Connection[Any], seed: int = 7) -> shapes.Values:
    """The values the shapes search for, read from one sampled contact, its company and a
    few neighbours (deterministic for a seed: REPEATABLE sampling)."""
    row = conn.execute(
        "SELECT c.title, c.first_name, c.last_name, c.email, c.seniority, c.departments, "
        "c.email_status, c.country, c.city, c.created_at, co.name, co.website, co.address, "
        "co.industries, co.technologies, co.country AS company_country, co.employees_count "
        "FROM contacts AS c TABLESAMPLE SYSTEM (1) REPEATABLE (%(seed)s) "
        "JOIN companies AS co ON co.uuid = c.company_id "
        "WHERE c.title LIKE '%% %%' AND cardinality(c.departments) > 0 "
        "AND cardinality(co.industries) > 1 AND cardinality(co.technologies) > 0 "
        "AND co.employees_count > 10 AND c.seniority IS NOT NULL AND c.email_status IS NOT NULL "
        "ORDER BY c.uuid LIMIT 1",
        {"seed": seed},
    ).fetchone()
    assert row is not None, "the bench database has no contact to sample"
    other = conn.execute(
        "SELECT seniority FROM contacts TABLESAMPLE SYSTEM (1) REPEATABLE (%(seed)s) "
        "WHERE seniority IS NOT NULL AND seniority <> %(first)s LIMIT 1",
        {"seed": seed, "first": row["seniority"]},
    ).fetchone()
    created = row["created_at"]
    return shapes.Values(
        text={
            (Entity.CONTACTS, "title"): row["title"],
            (Entity.CONTACTS, "first_name"): row["first_name"],
            (Entity.CONTACTS, "last_name"): row["last_name"],
            (Entity.CONTACTS, "email"): row["email"],
            (Entity.CONTACTS, "company_name"): row["name"],
            (Entity.COMPANIES, "name"): row["name"],
            (Entity.COMPANIES, "website"): row["website"],
            (Entity.COMPANIES, "address"): row["address"],
        },
        seniorities=(row["seniority"], other["seniority"] if other else "senior"),
        department=row["departments"][0],
        email_status=row["email_status"],
        country=row["country"],
        city=row["city"],
        industries=(row["industries"][0], row["industries"][1]),
        technology=row["technologies"][0],
        company_country=row["company_country"],
        employees=(row["employees_count"] // 2, row["employees_count"] * 2),
        created=(
            (created - timedelta(days=3)).date().isoformat(),
            (created + timedelta(days=3)).date().isoformat(),
        ),
    )


def _query(conn: psycopg.Connection[Any], shape: shapes.Shape) -> Query:
    """The shape's query; a deep one resumes after `deep_pages` pages (search_after)."""
    cursor = None
    for _ in range(shape.deep_pages):
        query = parse_request(
            {**shape.vql, "search_after": cursor}, shape.entity, cursor_secret=SECRET
        )
        cursor = ENGINE.search(conn, shape.entity, query).next_cursor
    body = {**shape.vql, "search_after": cursor} if shape.deep_pages else shape.vql
    query = parse_request(body, shape.entity, cursor_secret=SECRET)
    if shape.resume_at:
        return dataclasses.replace(query, search_after=_row_at(conn, query, shape.resume_at))
    return query


def _row_at(conn: psycopg.Connection[Any], query: Query, fraction: float) -> tuple[Any, Any]:
    """(first sort key, uuid) of the live row `fraction` into that key's order (NULLs
    last, ties by uuid the key's way): the values of a cursor resuming after it."""
    key = query.sort[0]
    column = psycopg.sql.Identifier(key.field.name)
    direction = psycopg.sql.SQL(key.direction.value.upper())
    textual = key.field.kind in (FieldKind.TEXT, FieldKind.KEYWORD)  # as the engine sorts
    collated = psycopg.sql.SQL('{} COLLATE "C"').format(column) if textual else column
    statement = psycopg.sql.SQL(
        "SELECT {column} AS value, uuid FROM {table} WHERE deleted_at IS NULL "
        "ORDER BY {collated} {direction} NULLS LAST, uuid {direction} "
        "OFFSET (SELECT (count(*) * %(fraction)s)::bigint FROM {table}) LIMIT 1"
    ).format(
        column=column,
        table=psycopg.sql.Identifier(query.entity.value),
        collated=collated,
        direction=direction,
    )
    row = conn.execute(statement, {"fraction": fraction}).fetchone()
    assert row is not None, "no row to resume after"
    return row["value"], row["uuid"]


def _timed(action: Callable[[], Any], repetitions: int) -> tuple[list[float], Any]:
    """Times `repetitions` runs after a warm-up run; a shape whose warm-up takes over
    SLOW_SECONDS gets SLOW_REPETITIONS runs (it misses the goal whatever the others say)."""
    started = time.perf_counter()
    action()  # warm the cache
    if time.perf_counter() - started > SLOW_SECONDS:
        repetitions = min(repetitions, SLOW_REPETITIONS)
    samples, outcome = [], None
    for _ in range(repetitions):
        started = time.perf_counter()
        outcome = action()
        samples.append(time.perf_counter() - started)
    return samples, outcome


def _exact_count_ms(
    conn: psycopg.Connection[Any], shape: shapes.Shape, query: Query
) -> float | None:
    """One exact count (`exact_count: true`), for comparison; None past EXACT_TIMEOUT."""
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = '{EXACT_TIMEOUT_MS}'")
            started = time.perf_counter()
            ENGINE.count(conn, shape.entity, query)
            return round((time.perf_counter() - started) * 1000, 1)
    except psycopg.errors.QueryCanceled:
        return None


def time_shapes(
    conn: psycopg.Connection[Any], shape_list: list[shapes.Shape], repetitions: int
) -> dict[str, Any]:
    """p50/p95 of the first page and of the (bounded) count of every shape."""
    per_shape: dict[str, Any] = {}
    pages: list[float] = []
    counts: list[float] = []
    for shape in shape_list:
        query = _query(conn, shape)
        page_samples, page = _timed(partial(ENGINE.search, conn, shape.entity, query), repetitions)
        count_samples, counted = _timed(
            partial(ENGINE.count_up_to, conn, shape.entity, query, COUNT_EXACT_UP_TO), repetitions
        )
        conn.rollback()
        page_stats, count_stats = summary_ms(page_samples), summary_ms(count_samples)
        per_shape[shape.name] = {
            "entity": shape.entity.value,
            "rows": len(page.data),
            "count": counted.count,
            "relation": counted.relation,
            "page": page_stats,
            "count_time": count_stats,
            # An "eq" bounded count is the exact count already: timed only past the bound.
            "exact_count_ms": (
                _exact_count_ms(conn, shape, query) if counted.relation == "gte" else None
            ),
            "page_ok": page_stats["p95_ms"] <= TARGET_PAGE_P95_MS,
            "count_ok": count_stats["p95_ms"] <= TARGET_COUNT_P95_MS,
        }
        pages.extend(page_samples)
        counts.extend(count_samples)
        print(_shape_line(shape.name, per_shape[shape.name]), flush=True)
    return {"shapes": per_shape, "page": summary_ms(pages), "count": summary_ms(counts)}


def full_scan_baseline(conn: psycopg.Connection[Any], repetitions: int = 5) -> dict[str, float]:
    """A full sequential scan of contacts, timed in the same run: the machine's speed (the
    cores are shared), against which every shape's figures can be read."""
    samples, _ = _timed(
        lambda: conn.execute("SELECT count(*) FROM contacts WHERE deleted_at IS NULL").fetchone(),
        repetitions,
    )
    return summary_ms(samples)


def existing_database_url(quick: bool) -> str:
    """`database_url`'s database, neither created nor migrated (--read-only)."""
    name = "connectra_bench_quick" if quick else "connectra_bench"
    return postgres.with_database(postgres.server_url(), name)


def run(
    quick: bool = False,
    repetitions: int | None = None,
    only: str | None = None,
    read_only: bool = False,
) -> dict[str, Any]:
    contacts, companies = SIZES[quick]
    if read_only:
        url, load = existing_database_url(quick), {"loaded": False, "read_only": True}
    else:
        url = database_url(quick)
        load = ensure_loaded(url, contacts, companies)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        if read_only:
            conn.execute("SET default_transaction_read_only = on")
            conn.commit()
        values = sample_values(conn)
        shape_list = [s for s in shapes.generate(values) if not only or only in s.name]
        baseline = full_scan_baseline(conn)
        timed = time_shapes(conn, shape_list, repetitions or (5 if quick else 9))
        structures = search_structures.status(conn)["set"]
    within = [
        name for name, stats in timed["shapes"].items() if stats["page_ok"] and stats["count_ok"]
    ]
    result = {
        "machine": machine(),
        "quick": quick,
        "contacts": contacts,
        "companies": companies,
        "load": load,
        "search_structures": structures,
        "values": {
            "text": {
                f"{entity.value}.{key}": value for (entity, key), value in values.text.items()
            },
            "seniorities": values.seniorities,
            "industries": values.industries,
            "country": values.country,
        },
        "full_scan_baseline": baseline,
        "targets_ms": {"page_p95": TARGET_PAGE_P95_MS, "count_p95": TARGET_COUNT_P95_MS},
        "count_exact_up_to": COUNT_EXACT_UP_TO,
        **timed,
        "shapes_total": len(timed["shapes"]),
        "shapes_within_targets": len(within),
        "dsl_compile": "see bench/dsl.py",
    }
    cost_file = RESULTS / "search_write_cost.json"
    if cost_file.exists():  # from `--write-cost`, kept apart: it needs scratch databases
        result["write_cost"] = json.loads(cost_file.read_text())
    if not only:
        write_result("search", result)
        (results_dir(result["quick"]) / "search.md").write_text(markdown(result))
    return result


def _shape_line(name: str, stats: dict[str, Any]) -> str:
    page, count = stats["page"], stats["count_time"]
    exact = stats["exact_count_ms"]
    if stats["relation"] == "eq":
        exact_text = "= count"
    elif exact is None:
        exact_text = f">{EXACT_TIMEOUT_MS}"
    else:
        exact_text = f"{exact:.0f}"
    verdict = (
        "ok"
        if stats["page_ok"] and stats["count_ok"]
        else (
            "**page**"
            if not stats["page_ok"] and stats["count_ok"]
            else "**count**"
            if stats["page_ok"]
            else "**page, count**"
        )
    )
    relation = "" if stats["relation"] == "eq" else "+"
    return (
        f"| {name} | {stats['rows']} | {stats['count']:,}{relation} | {page['p50_ms']:.1f} | "
        f"{page['p95_ms']:.1f} | {count['p50_ms']:.1f} | {count['p95_ms']:.1f} | "
        f"{exact_text} | {verdict} |"
    )


def markdown(result: dict[str, Any]) -> str:
    targets = result["targets_ms"]
    lines = [
        f"# Search benchmark (PostgreSQL engine): {result['contacts']:,} contacts, "
        f"{result['companies']:,} companies, every query shape",
        "",
        f"Machine: {result['machine']['cpus']} CPUs (shared with other work), Python "
        f"{result['machine']['python']}, {result['machine']['when']}. Search structures: "
        f"`{result['search_structures']}`. Shapes generated from the VQL grammar "
        "(bench/shapes.py), values sampled from the data (hits and misses). Timed through "
        "the engine (compile, SQL, row fetch, cursor), first page (limit 25 unless the shape "
        f"says) and the bounded count (exact up to {result['count_exact_up_to']:,}, then "
        "`gte`, shown `+`), each after one warm-up run.",
        "",
        f"Goal per shape: page p95 <= {targets['page_p95']} ms and count p95 <= "
        f"{targets['count_p95']} ms. **{result['shapes_within_targets']} of "
        f"{result['shapes_total']} shapes within both.** Overall: page p50 "
        f"{result['page']['p50_ms']:.1f} / p95 {result['page']['p95_ms']:.1f} ms, count p50 "
        f"{result['count']['p50_ms']:.1f} / p95 {result['count']['p95_ms']:.1f} ms. Baseline "
        f"in the same run: a full scan of contacts takes "
        f"{result['full_scan_baseline']['p50_ms']:.0f} ms (p50).",
        "",
        "| shape | rows | count | page p50 | page p95 | count p50 | count p95 "
        "| exact count ms (1 run) | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [_shape_line(name, stats) for name, stats in result["shapes"].items()]
    lines.append("")
    cost = result.get("write_cost")
    if cost:
        lines += [
            f"Write cost ({cost['rows']:,} contacts into a migrated scratch database, best of 2; "
            f"`--write-cost`, measured {cost.get('machine', {}).get('when', '?')}: `head` is "
            "the head of that day; rerun `--write-cost 0004 head` to compare the current set):",
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
    parser.add_argument("--repetitions", type=int, help="timed runs per shape (default 9)")
    parser.add_argument("--only", help="only the shapes whose name contains this (not saved)")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="time an already loaded database as it is (no migration, no ANALYZE)",
    )
    args = parser.parse_args()
    if args.write_cost is not None:
        print(json.dumps(write_cost(args.write_cost or ["0003", "head"]), indent=2))
        return
    result = run(
        quick=args.quick, repetitions=args.repetitions, only=args.only, read_only=args.read_only
    )
    print(markdown(result))
    print(json.dumps(result["load"]))


if __name__ == "__main__":
    main()
