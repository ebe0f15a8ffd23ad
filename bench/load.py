"""Load test of the search API on 127.0.0.1: increasing concurrency, fixed duration per level.

Each level runs `concurrency` closed-loop clients for `seconds`; the report gives throughput,
error rate, the count of each status, and latency percentiles (p50/p95/p99) per level, and
throughput as a ratio of the 1-client level. Levels go up to 200 clients (issue 11 item 3):
overload must degrade into fast 503s with Retry-After, so any other status >= 500 (or a
transport error: a dropped connection, a timeout) is counted as a failure of the level.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections import Counter
from typing import Any

import httpx

from bench.common import machine, summary_ms, write_result
from connectra.settings import DEV_API_KEY

QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("/contacts/", {"limit": 25}),
    (
        "/contacts/",
        {"where": {"keyword_match": {"must": {"seniority": ["senior", "lead"]}}}, "limit": 25},
    ),
    (
        "/contacts/",
        {
            "where": {
                "text_matches": {
                    "must": [
                        {
                            "filter_key": "title",
                            "text_value": "engineer",
                            "search_type": "substring",
                        }
                    ]
                }
            },
            "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
            "limit": 25,
        },
    ),
    ("/contacts/count", {"where": {"keyword_match": {"must": {"country": "germany"}}}}),
    ("/common/contacts/filters", None),  # issue 11 D1's route (a GET)
    (
        "/companies/",
        {"where": {"range_query": {"must": {"employees_count": {"gte": 100}}}}, "limit": 25},
    ),
]


async def _client(
    client: httpx.AsyncClient,
    deadline: float,
    latencies: list[float],
    statuses: Counter[str],
    start: int,
) -> None:
    # Each client starts at another query, so every level mixes all of them.
    for path, body in itertools.islice(itertools.cycle(QUERIES), start, None):
        if time.perf_counter() >= deadline:
            return
        started = time.perf_counter()
        try:
            if body is None:
                response = await client.get(path)
            else:
                response = await client.post(path, json=body)
            status = str(response.status_code)
            if response.status_code == 503 and not response.headers.get("retry-after"):
                status = "503 without Retry-After"
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1


def _unacceptable(statuses: Counter[str]) -> int:
    """Answers overload must never give: a 5xx other than 503 + Retry-After, or none."""
    return sum(
        count
        for status, count in statuses.items()
        if not status.isdigit() or (int(status) >= 500 and status != "503")
    )


async def _level(base_url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    headers = {"X-API-Key": DEV_API_KEY}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(client, deadline, latencies, statuses, index) for index in range(concurrency))
        )
    ok = statuses.get("200", 0)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "throughput_rps": round(ok / seconds, 1),
        "error_rate": round(1 - ok / max(1, len(latencies)), 4),
        "statuses": dict(sorted(statuses.items())),
        "shed_503": statuses.get("503", 0),
        "unacceptable": _unacceptable(statuses),
        **summary_ms(latencies),
    }


def _warm_up(base_url: str) -> None:
    """Open the server's pools and plans first, so level 1 does not pay for them."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": DEV_API_KEY}, timeout=60) as client:
        for _ in range(3):
            for path, body in QUERIES:
                if body is None:
                    client.get(path)
                else:
                    client.post(path, json=body)


def run(quick: bool = False, base_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    levels = [1, 4, 16, 64, 200] if quick else [1, 2, 4, 8, 16, 32, 64, 100, 200]
    _warm_up(base_url)
    seconds = 5.0 if quick else 90.0 / len(levels)
    results = [asyncio.run(_level(base_url, level, seconds)) for level in levels]
    baseline = results[0]["throughput_rps"] or 1.0
    for entry in results:
        entry["throughput_vs_1_client"] = round(entry["throughput_rps"] / baseline, 2)
    result = {
        "quick": quick,
        "machine": machine(),
        "seconds_per_level": seconds,
        "levels": results,
        # The acceptance of issue 11 item 3: no status >= 500 but 503 at any level.
        "unacceptable_total": sum(entry["unacceptable"] for entry in results),
        "p99_ms_by_level": {str(entry["concurrency"]): entry["p99_ms"] for entry in results},
    }
    write_result("load", result)
    return result


if __name__ == "__main__":
    import json

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
