"""Aggregation benchmark: p50/p95/p99 of aggregation requests on the PostgreSQL engine
over the search benchmark's data set (1M contacts, 100k companies; `--quick`: 100k/10k),
and the result cache's hit against miss latency through the API.

Baselines measured in the same run: each request's `POST /contacts/count` of the same
`where` (the least any answer over those rows costs), so the aggregation overhead is a
ratio that machine load does not distort much. The target (SPEC §12, issue 15): p95 of
the 3-aggregation request ≤ 300 ms.

The data set is bench/search.py's (`database_url`, `ensure_loaded`: loaded once, reused).

    .venv/bin/python -m bench.aggregate [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import machine, results_dir, summary_ms, write_result
from bench.search import SIZES, database_url, ensure_loaded
from connectra.models.fields import Entity
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.aggregation_request import parse_aggregate_payload
from connectra.vql.parse import parse_request

ENGINE = PostgresSearchEngine(cursor_secret="bench-secret")
EMPLOYEE_RANGES = [{"lt": 50}, {"gte": 50, "lt": 500}, {"gte": 500}]
HEADLINE = "spec example: 3 aggregations, country filter"

REQUESTS: list[tuple[str, dict[str, Any], int]] = [  # name, body, repetitions (full run)
    (
        HEADLINE,
        {
            "where": {"keyword_match": {"must": {"country": "germany"}}},
            "aggregations": [
                {"name": "by_seniority", "type": "terms", "field": "seniority", "size": 10},
                {
                    "name": "by_size",
                    "type": "range",
                    "field": "company_employees_count",
                    "ranges": EMPLOYEE_RANGES,
                },
                {
                    "name": "by_month",
                    "type": "date_histogram",
                    "field": "created_at",
                    "interval": "month",
                },
            ],
        },
        30,
    ),
    (
        "array terms + company terms, seniority filter",
        {
            "where": {"keyword_match": {"must": {"seniority": "vp"}}},
            "aggregations": [
                {"name": "departments", "type": "terms", "field": "departments", "size": 10},
                {"name": "industries", "type": "terms", "field": "company_industries"},
            ],
        },
        10,
    ),
    (
        "3 aggregations, no filter (every contact)",
        {
            "aggregations": [
                {"name": "by_seniority", "type": "terms", "field": "seniority", "size": 10},
                {
                    "name": "by_size",
                    "type": "range",
                    "field": "company_employees_count",
                    "ranges": EMPLOYEE_RANGES,
                },
                {
                    "name": "by_year",
                    "type": "date_histogram",
                    "field": "created_at",
                    "interval": "year",
                },
            ]
        },
        3,
    ),
]


def _timed(action: Any, repetitions: int, conn: psycopg.Connection[Any]) -> list[float]:
    action()  # warm the buffers and the plan
    conn.rollback()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
        conn.rollback()
    return samples


def time_requests(conn: psycopg.Connection[Any], quick: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, body, repetitions in REQUESTS:
        runs = max(3, repetitions // 3) if quick else repetitions
        query = parse_aggregate_payload(body, Entity.CONTACTS)
        count_query = parse_request({"where": body.get("where", {})}, Entity.CONTACTS)
        aggregated = _timed(lambda q=query: ENGINE.aggregate(conn, q), runs, conn)
        counted = _timed(lambda q=count_query: ENGINE.count(conn, Entity.CONTACTS, q), runs, conn)
        stats, baseline = summary_ms(aggregated), summary_ms(counted)
        found[name] = {
            "aggregate": stats,
            "count_baseline": baseline,
            "p50_ratio_to_count": round(stats["p50_ms"] / max(baseline["p50_ms"], 0.001), 2),
            "total": ENGINE.aggregate(conn, query).total,
        }
        conn.rollback()
    return found


def time_cache(url: str, repetitions: int) -> dict[str, Any]:
    """Through the app (TestClient, in-process): a miss computes, a hit reads the cache."""
    os.environ.update(DATABASE_URL=url, RESULT_CACHE_TTL_SECONDS="30")
    from fastapi.testclient import TestClient

    from connectra.api.app import create_app
    from connectra.db.pool import close_pool
    from connectra.search.result_cache import get_result_cache
    from connectra.settings import DEV_API_KEY, get_settings

    get_settings.cache_clear()
    get_result_cache.cache_clear()
    close_pool()
    body = REQUESTS[0][1]
    misses, hits = [], []
    with TestClient(create_app(), headers={"X-API-Key": DEV_API_KEY}) as client:
        for _ in range(repetitions):
            get_result_cache().clear()
            started = time.perf_counter()
            miss = client.post("/contacts/aggregate", json=body).json()
            misses.append(time.perf_counter() - started)
            started = time.perf_counter()
            hit = client.post("/contacts/aggregate", json=body).json()
            hits.append(time.perf_counter() - started)
            assert (miss["cached"], hit["cached"]) == (False, True), (miss, hit)
    close_pool()
    miss_stats, hit_stats = summary_ms(misses), summary_ms(hits)
    return {
        "request": HEADLINE,
        "miss": miss_stats,
        "hit": hit_stats,
        "p50_miss_over_hit": round(miss_stats["p50_ms"] / max(hit_stats["p50_ms"], 0.001), 1),
    }


def run(quick: bool = False) -> dict[str, Any]:
    contacts, companies = SIZES[quick]
    url = database_url(quick)
    load = ensure_loaded(url, contacts, companies)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        requests = time_requests(conn, quick)
    cache = time_cache(url, repetitions=5 if quick else 15)
    headline = requests[HEADLINE]["aggregate"]
    result = {
        "machine": machine(),
        "quick": quick,
        "contacts": contacts,
        "companies": companies,
        "load": load,
        "requests": requests,
        "cache": cache,
        "target_p95_ms": 300,
        "headline_p95_ms": headline["p95_ms"],
        "target_met": headline["p95_ms"] <= 300,
    }
    write_result("aggregate", result)
    (results_dir(result["quick"]) / "aggregate.md").write_text(markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# aggregate",
        "",
        f"PostgreSQL engine, {result['contacts']:,} contacts and {result['companies']:,} "
        f"companies; baseline: `count` of the same where, same run. Target: p95 of "
        f'"{HEADLINE}" ≤ {result["target_p95_ms"]} ms '
        f"({'met' if result['target_met'] else 'NOT met'} in this run: "
        f"{result['headline_p95_ms']} ms).",
        "",
        "| request | matched | p50 ms | p95 ms | p99 ms | count p50 ms | ratio to count |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in result["requests"].items():
        stats, baseline = found["aggregate"], found["count_baseline"]
        lines.append(
            f"| {name} | {found['total']:,} | {stats['p50_ms']} | {stats['p95_ms']} | "
            f"{stats['p99_ms']} | {baseline['p50_ms']} | {found['p50_ratio_to_count']} |"
        )
    cache = result["cache"]
    lines += [
        "",
        f'Result cache through the API ("{cache["request"]}"): miss p50 '
        f"{cache['miss']['p50_ms']} ms / p95 {cache['miss']['p95_ms']} ms, hit p50 "
        f"{cache['hit']['p50_ms']} ms / p95 {cache['hit']['p95_ms']} ms "
        f"(a hit is {cache['p50_miss_over_hit']}x faster at p50).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick), indent=2, default=str))


if __name__ == "__main__":
    main()
