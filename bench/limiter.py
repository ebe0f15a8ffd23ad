"""The shared rate limiter's cost per request, against a bare database round trip.

What the API adds to each authenticated request locally: one pooled connection, a peek at
the client address's failed-authentication window and the stacked count of the key's
three levels (one INSERT … ON CONFLICT, one commit). Baseline in the same run, on the same
pool: `SELECT 1` in a transaction. Both sequential and with 8 threads on 8 keys (no
contention) and on one hot key (every request waits for the same rows).

Run alone: `python -m bench.limiter [--quick]` (results in bench/results/limiter.json).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from bench.common import machine, summary_ms, write_result
from connectra.consumers.limiter import Level, SharedLimiter, plan_levels
from connectra.consumers.plans import PLANS
from connectra.db import migrate
from connectra.local import postgres

AUTH = Level("auth", 60, 20)


def _timed(
    pool: ConnectionPool[Any], work: Callable[[Any, int], None], count: int, threads: int
) -> list[float]:
    def one(index: int) -> float:
        started = time.perf_counter()
        with pool.connection() as conn:
            work(conn, index)
        return time.perf_counter() - started

    if threads == 1:
        return [one(index) for index in range(count)]
    with ThreadPoolExecutor(max_workers=threads) as executor:
        return list(executor.map(one, range(count)))


def run(quick: bool = False) -> dict[str, Any]:
    count = 500 if quick else 3000
    server = postgres.server_url()
    name = f"connectra_bench_limiter_{uuid.uuid4().hex[:6]}"
    database = postgres.with_database(server, name)
    postgres.ensure_database(database)
    migrate.upgrade(database)
    limiter = SharedLimiter()
    levels = plan_levels(PLANS["enterprise"])  # never refuses here: the admitted path

    def baseline(conn: Any, _index: int) -> None:
        with conn.transaction():
            conn.execute("SELECT 1").fetchone()

    def counted(keys: int) -> Callable[[Any, int], None]:
        def work(conn: Any, index: int) -> None:
            limiter.peek(conn, "addr:127.0.0.1", AUTH)
            limiter.take(conn, f"key:bench-{index % keys}", levels)

        return work

    results: dict[str, Any] = {"machine": machine(), "quick": quick, "requests": count}
    try:
        with ConnectionPool(database, min_size=8, max_size=8, open=True) as pool:
            for threads in (1, 8):
                results[f"threads_{threads}"] = {
                    "baseline_select_1": summary_ms(_timed(pool, baseline, count, threads)),
                    "limiter_8_keys": summary_ms(_timed(pool, counted(8), count, threads)),
                    "limiter_1_hot_key": summary_ms(_timed(pool, counted(1), count, threads)),
                }
    finally:
        with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for threads in (1, 8):
        level = results[f"threads_{threads}"]
        base = level["baseline_select_1"]["p50_ms"] or 1e-9
        level["p50_ratio_8_keys"] = round(level["limiter_8_keys"]["p50_ms"] / base, 2)
        level["p50_ratio_hot_key"] = round(level["limiter_1_hot_key"]["p50_ms"] / base, 2)
    results["note"] = "other engineers' work shared the 2 cores during this run"
    write_result("limiter", results)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import json

    print(json.dumps(run(quick=arguments.quick), indent=2))
