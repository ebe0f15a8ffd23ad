"""The pieces of `connectra.vql.aggregation` every engine shares, and the result cache."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connectra.errors import ValidationFailed
from connectra.models.fields import CONTACT_FIELDS
from connectra.search.result_cache import ResultCache
from connectra.vql.aggregation import (
    MAX_HISTOGRAM_BUCKETS,
    DateHistogramAggregation,
    Interval,
    TermsAggregation,
    TermsFigures,
    bucket_start,
    bucket_starts,
    check_histogram_span,
    finish_terms,
    intervals_between,
    normalize_key,
)


@pytest.mark.parametrize(
    ("value", "key"),
    [(" VP\t", "vp"), ("Señor", "señor"), ("   ", None), (None, None), ("\u00a0x", "\u00a0x")],
)
def test_keys_are_trimmed_of_ascii_whitespace_and_lower_cased(
    value: str | None, key: str | None
) -> None:
    assert normalize_key(value) == key


@pytest.mark.parametrize(
    ("interval", "start"),
    [
        (Interval.DAY, date(2024, 3, 31)),
        (Interval.WEEK, date(2024, 3, 25)),  # Monday
        (Interval.MONTH, date(2024, 3, 1)),
        (Interval.YEAR, date(2024, 1, 1)),
    ],
)
def test_buckets_are_utc_calendar_intervals(interval: Interval, start: date) -> None:
    # 2024-04-01 01:30 in UTC+03:00 is still March 31 in UTC (a Sunday).
    moment = datetime(2024, 4, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))

    assert bucket_start(moment, interval) == start


def test_bucket_starts_cross_year_ends_and_count_inclusively() -> None:
    starts = bucket_starts(date(2023, 11, 1), date(2024, 2, 1), Interval.MONTH)

    assert starts == [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert intervals_between(starts[0], starts[-1], Interval.MONTH) == 4
    assert intervals_between(date(2024, 1, 1), date(2024, 1, 15), Interval.WEEK) == 3


def test_too_many_histogram_buckets_is_a_400_naming_the_interval() -> None:
    histogram = DateHistogramAggregation(
        "d", "aggregations[2]", CONTACT_FIELDS["created_at"], Interval.DAY
    )
    first = datetime(2000, 1, 1, tzinfo=UTC).date()

    check_histogram_span(histogram, [first, first + timedelta(days=MAX_HISTOGRAM_BUCKETS - 1)])
    with pytest.raises(ValidationFailed) as raised:
        check_histogram_span(histogram, [first, first + timedelta(days=MAX_HISTOGRAM_BUCKETS)])

    assert raised.value.details[0]["path"] == "aggregations[2].interval"


def test_terms_merge_equal_keys_order_and_derive_other_count() -> None:
    terms = TermsAggregation("s", "aggregations[0]", CONTACT_FIELDS["seniority"], size=2)
    figures = TermsFigures(top=[("b", 3), ("a", 3), ("c", 1), ("b", 1)], with_value=10)

    answer = finish_terms(terms, figures)

    assert answer["buckets"] == [{"key": "b", "count": 4}, {"key": "a", "count": 3}]
    assert answer["other_count"] == 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_serves_within_the_ttl_and_recomputes_after() -> None:
    clock = Clock()
    cache = ResultCache(ttl_seconds=30, clock=clock)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.fetch("q", compute) == (1, False)
    clock.now = 29.9
    assert cache.fetch("q", compute) == (1, True)
    clock.now = 30.0
    assert cache.fetch("q", compute) == (2, False)


def test_cache_evicts_the_least_recently_used_and_zero_ttl_is_off() -> None:
    cache = ResultCache(ttl_seconds=30, max_entries=2, clock=Clock())
    cache.fetch("a", lambda: 1)
    cache.fetch("b", lambda: 2)
    cache.fetch("a", lambda: 0)  # a is now the most recent
    cache.fetch("c", lambda: 3)  # evicts b

    assert cache.fetch("a", lambda: -1) == (1, True)
    assert cache.fetch("b", lambda: 22) == (22, False)
    off = ResultCache(ttl_seconds=0)
    assert off.fetch("a", lambda: 1) == (1, False)
    assert off.fetch("a", lambda: 2) == (2, False)
