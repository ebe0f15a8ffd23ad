"""Load test of the search API on 127.0.0.1: increasing concurrency, fixed duration per level.

Each level runs `concurrency` closed-loop clients for `seconds`; the report gives throughput,
error rate and latency percentiles per level, and throughput as a ratio of the 1-client level.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from typing import Any

import httpx

from bench.common import machine, summary_ms, write_result
from connectra.settings import DEV_API_KEY

QUERIES: list[tuple[str, dict[str, Any]]] = [
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
    (
        "/companies/",
        {"where": {"range_query": {"must": {"employees_count": {"gte": 100}}}}, "limit": 25},
    ),
]


async def _client(
    client: httpx.AsyncClient, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    for path, body in itertools.cycle(QUERIES):
        if time.perf_counter() >= deadline:
            return
        started = time.perf_counter()
        try:
            response = await client.post(path, json=body)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - started)
        if not ok:
            errors.append(1)


async def _level(base_url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    headers = {"X-API-Key": DEV_API_KEY}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(client, deadline, latencies, errors) for _ in range(concurrency))
        )
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / seconds, 1),
        "error_rate": round(len(errors) / max(1, len(latencies)), 4),
        **summary_ms(latencies),
    }


def _warm_up(base_url: str) -> None:
    """Open the server's pools and plans first, so level 1 does not pay for them."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": DEV_API_KEY}, timeout=60) as client:
        for _ in range(3):
            for path, body in QUERIES:
                client.post(path, json=body)


def run(quick: bool = False, base_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    levels = [1, 4, 16] if quick else [1, 2, 4, 8, 16, 32]
    _warm_up(base_url)
    seconds = 5.0 if quick else 60.0 / len(levels)
    results = [asyncio.run(_level(base_url, level, seconds)) for level in levels]
    baseline = results[0]["throughput_rps"] or 1.0
    for entry in results:
        entry["throughput_vs_1_client"] = round(entry["throughput_rps"] / baseline, 2)
    result = {"machine": machine(), "seconds_per_level": seconds, "levels": results}
    write_result("load", result)
    return result


if __name__ == "__main__":
    import json

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
