"""The shared limiter and the usage meter on a real PostgreSQL: stacked levels, refused
requests not counted, windows that roll, and exact limits under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from connectra.consumers.access import ALL_SCOPES, Consumer
from connectra.consumers.limiter import Level, SharedLimiter
from connectra.consumers.metering import UsageMeter
from connectra.consumers.plans import PLANS, Metric
from connectra.errors import RateLimited

LEVELS = (Level("second", 1, 3), Level("minute", 60, 5), Level("day", 86_400, 7))
NOON = 1_780_000_200.0  # a minute boundary, mid-day UTC


def _take(url: str, limiter: SharedLimiter, subject: str = "key:a") -> Any:
    with psycopg.connect(url) as conn:
        return limiter.take(conn, subject, LEVELS)


def test_every_level_must_pass_and_the_refusal_names_the_exhausted_one(clean_db: str) -> None:
    clock = [NOON]
    limiter = SharedLimiter(clock=lambda: clock[0])

    first_second = [_take(clean_db, limiter) for _ in range(4)]
    clock[0] += 1
    second_second = [_take(clean_db, limiter) for _ in range(3)]
    clock[0] += 60
    next_minute = [_take(clean_db, limiter) for _ in range(3)]

    assert [d.allowed for d in first_second] == [True, True, True, False]
    assert first_second[3].exhausted_level.level.name == "second"
    assert first_second[3].headers()["Retry-After"] == "1"
    # 3 + 2 = 5 a minute: the minute level refuses the 3rd of the next second
    assert [d.allowed for d in second_second] == [True, True, False]
    assert second_second[2].exhausted_level.level.name == "minute"
    assert second_second[2].headers()["Retry-After"] == "59"
    # 7 a day: a new minute lets 2 more through, then the day is spent until midnight
    assert [d.allowed for d in next_minute] == [True, True, False]
    refusal = next_minute[2]
    assert refusal.exhausted_level.level.name == "day"
    assert int(refusal.headers()["Retry-After"]) == 86_400 - int(clock[0] % 86_400)


def test_headers_describe_the_tightest_level(clean_db: str) -> None:
    limiter = SharedLimiter(clock=lambda: NOON)

    decisions = [_take(clean_db, limiter) for _ in range(3)]

    # second: 3 → 2, 1, 0 left; minute: 5 → 4, 3, 2 left: the second level is tightest
    assert [d.headers()["X-RateLimit-Remaining"] for d in decisions] == ["2", "1", "0"]
    assert {d.headers()["X-RateLimit-Level"] for d in decisions} == {"second"}
    assert decisions[0].headers()["X-RateLimit-Limit"] == "3"


def test_a_refused_request_is_not_counted(clean_db: str) -> None:
    clock = [NOON]
    limiter = SharedLimiter(clock=lambda: clock[0])
    for _ in range(10):  # 3 allowed, 7 refused by the second level
        _take(clean_db, limiter)

    clock[0] += 1
    after = _take(clean_db, limiter)

    assert after.allowed
    minute = next(state for state in after.states if state.level.name == "minute")
    assert minute.hits == 4


def test_concurrent_requests_never_exceed_the_limit(clean_db: str) -> None:
    limiter = SharedLimiter(clock=lambda: NOON)
    levels = (Level("minute", 60, 30),)

    def take(_: int) -> bool:
        with psycopg.connect(clean_db) as conn:
            return limiter.take(conn, "key:busy", levels).allowed

    with ThreadPoolExecutor(max_workers=12) as pool:
        allowed = list(pool.map(take, range(80)))

    assert sum(allowed) == 30


def _consumer(plan: str) -> Consumer:
    return Consumer("k", "acme", PLANS[plan], ALL_SCOPES)


def test_metered_operations_are_refused_over_the_daily_allowance(clean_db: str) -> None:
    meter = UsageMeter(clock=lambda: NOON)
    free = _consumer("free")  # 1,000 export rows a day
    with psycopg.connect(clean_db) as conn:
        assert meter.charge(conn, free, Metric.EXPORT_ROWS, 600) == 600
        with pytest.raises(RateLimited) as refused:
            meter.charge(conn, free, Metric.EXPORT_ROWS, 500)
        assert meter.charge(conn, free, Metric.EXPORT_ROWS, 400) == 1_000
        used = meter.used(conn, "acme", Metric.EXPORT_ROWS)

    assert used == 1_000  # the refused 500 were not recorded
    details = refused.value.details
    assert details["level"] == "export_rows" and details["used"] == 600
    assert int(details["headers"]["Retry-After"]) == 86_400 - int(NOON % 86_400)


def test_unlimited_plans_are_still_metered(clean_db: str) -> None:
    meter = UsageMeter(clock=lambda: NOON)
    with psycopg.connect(clean_db) as conn:
        meter.charge(conn, _consumer("enterprise"), Metric.AGGREGATION_CALLS, 1)
        meter.charge(conn, _consumer("enterprise"), Metric.AGGREGATION_CALLS, 1)
        usage = meter.usage(conn)

    assert usage == [{"consumer": "acme", "metric": "aggregation_calls", "amount": 2}]
