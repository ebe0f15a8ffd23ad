"""Aggregations over a VQL filter: the engine-neutral request AST, the result and its rules.

Every engine (PostgreSQL GROUP BY, OpenSearch aggregations, the Python reference
evaluator) computes raw per-aggregation figures; the functions here turn them into the
answer, so ordering, cut-off, other/missing counts and bucket limits are decided once.

Meaning (SPEC §12), over the records the filter matches (`total` of them):

Terms (`TermsAggregation`, text / keyword / keyword-array / uuid fields)
  A record's keys are its value(s) normalized by `normalize_key`: ASCII whitespace
  trimmed, lower-cased one code point at a time (`vql.text.lower`); an empty result is
  no value. An array field gives each distinct key once per record. Buckets: the `size`
  keys with the most records, ordered by count descending, then key ascending
  (code-point order). `missing_count`: records with no key.
  `other_count`: records with at least one key outside the returned buckets (for a
  single-valued field: records with a value, minus the buckets' counts).
Range (`RangeAggregation`, number and date fields)
  One bucket per requested range, in request order, whatever their overlap: `gte`
  inclusive, `lt` exclusive, either may be absent. A record without a value counts in
  none. Each bucket echoes the bounds as the request gave them.
Date histogram (`DateHistogramAggregation`, date fields)
  UTC calendar buckets (`day`, `week` starting Monday, `month`, `year`) keyed by their
  start date (`YYYY-MM-DD`), ascending, empty ones omitted; a record without a value
  counts in none. From the first to the last non-empty bucket there may be at most
  `MAX_HISTOGRAM_BUCKETS` intervals (a coarser interval or a narrower filter otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity, Field
from connectra.vql.ast import Filter, RangeValue
from connectra.vql.text import lower

MAX_AGGREGATIONS = 5
MAX_TERMS_SIZE = 1_000
DEFAULT_TERMS_SIZE = 10
MAX_RANGES = 100
MAX_HISTOGRAM_BUCKETS = 10_000
# What `normalize_key` trims: ASCII whitespace only, the same set in every engine.
KEY_WHITESPACE = " \t\n\r\x0b\x0c"


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class TermsAggregation:
    name: str
    path: str  # where it sits in the request, e.g. `aggregations[0]`
    field: Field
    size: int


@dataclass(frozen=True)
class RangeBucket:
    gte: RangeValue | None
    lt: RangeValue | None
    echo: tuple[tuple[str, Any], ...]  # the bounds as the request gave them, in order


@dataclass(frozen=True)
class RangeAggregation:
    name: str
    path: str
    field: Field
    ranges: tuple[RangeBucket, ...]


@dataclass(frozen=True)
class DateHistogramAggregation:
    name: str
    path: str
    field: Field
    interval: Interval


Aggregation = TermsAggregation | RangeAggregation | DateHistogramAggregation


@dataclass(frozen=True)
class AggregateQuery:
    entity: Entity
    filter: Filter
    aggregations: tuple[Aggregation, ...]

    def field_uses(self) -> list[tuple[str, Field]]:
        """Every field the request reads, with the request path naming it: the filter's
        (path `where`) and each aggregation's (`aggregations[i].field`)."""
        uses = [("where", field) for field in self.filter.fields]
        uses.extend((f"{item.path}.field", item.field) for item in self.aggregations)
        return uses


# -- raw figures an engine computes ------------------------------------------------------


@dataclass(frozen=True)
class TermsFigures:
    """`top`: (key, count) of at least the `size` best keys, any order (more is fine);
    `with_value`: records with a key; `outside`: records with a key outside the returned
    buckets, or None to derive it (single-valued fields: with_value - sum of buckets)."""

    top: list[tuple[str, int]]
    with_value: int
    outside: int | None = None


Figures = TermsFigures | list[int] | dict[date, int]  # terms | range counts | histogram


# -- normalization and calendar ----------------------------------------------------------


def normalize_key(value: Any) -> str | None:
    """A terms key: the value trimmed of ASCII whitespace and lower-cased one code point
    at a time (`text.lower`: `İ` → `i`, as PostgreSQL's `lower()` and Lucene do); '' is
    None."""
    if value is None:
        return None
    key = lower(str(value).strip(KEY_WHITESPACE))
    return key or None


def bucket_start(moment: datetime, interval: Interval) -> date:
    """The UTC calendar bucket holding `moment`, as its first day."""
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    if interval is Interval.DAY:
        return day
    if interval is Interval.WEEK:
        return day - timedelta(days=day.weekday())  # Monday
    if interval is Interval.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_bucket(start: date, interval: Interval) -> date:
    if interval is Interval.DAY:
        return start + timedelta(days=1)
    if interval is Interval.WEEK:
        return start + timedelta(days=7)
    if interval is Interval.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def intervals_between(first: date, last: date, interval: Interval) -> int:
    """How many buckets span from `first` to `last` (both bucket starts), inclusive."""
    if interval is Interval.DAY:
        return (last - first).days + 1
    if interval is Interval.WEEK:
        return (last - first).days // 7 + 1
    if interval is Interval.MONTH:
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


def bucket_starts(first: date, last: date, interval: Interval) -> list[date]:
    starts = [first]
    while starts[-1] < last:
        starts.append(next_bucket(starts[-1], interval))
    return starts


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- figures → answer ----------------------------------------------------------------------


def finish_terms(aggregation: TermsAggregation, figures: TermsFigures) -> dict[str, Any]:
    merged: dict[str, int] = {}
    for key, count in figures.top:
        merged[key] = merged.get(key, 0) + count
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[: aggregation.size]
    returned = sum(count for _key, count in ordered)
    outside = figures.with_value - returned if figures.outside is None else figures.outside
    return {
        "buckets": [{"key": key, "count": count} for key, count in ordered],
        "other_count": outside,
        "missing_count": 0,  # set by `finish` from the total
    }


def finish_ranges(aggregation: RangeAggregation, counts: list[int]) -> dict[str, Any]:
    return {
        "buckets": [
            {**dict(bucket.echo), "count": count}
            for bucket, count in zip(aggregation.ranges, counts, strict=True)
        ]
    }


def finish_histogram(
    aggregation: DateHistogramAggregation, counts: Mapping[date, int]
) -> dict[str, Any]:
    found = sorted((start, count) for start, count in counts.items() if count > 0)
    check_histogram_span(aggregation, [start for start, _count in found])
    return {"buckets": [{"key": start.isoformat(), "count": count} for start, count in found]}


def check_histogram_span(aggregation: DateHistogramAggregation, starts: Iterable[date]) -> None:
    ordered = sorted(starts)
    if not ordered:
        return
    span = intervals_between(ordered[0], ordered[-1], aggregation.interval)
    if span > MAX_HISTOGRAM_BUCKETS:
        path = f"{aggregation.path}.interval"
        message = (
            f"the matching records span {span} {aggregation.interval.value}s; at most "
            f"{MAX_HISTOGRAM_BUCKETS}: use a coarser interval or narrow the where"
        )
        raise ValidationFailed(
            f"{path}: {message}", [{"path": path, "message": message, "type": "too_many_buckets"}]
        )


def finish(
    query: AggregateQuery, total: int, figures: Mapping[str, Figures]
) -> dict[str, dict[str, Any]]:
    """Each aggregation's answer (by name, in request order) from the engine's figures."""
    answers: dict[str, dict[str, Any]] = {}
    for aggregation in query.aggregations:
        found = figures[aggregation.name]
        if isinstance(aggregation, TermsAggregation):
            assert isinstance(found, TermsFigures)
            answer = finish_terms(aggregation, found)
            answer["missing_count"] = total - found.with_value
        elif isinstance(aggregation, RangeAggregation):
            assert isinstance(found, list)
            answer = finish_ranges(aggregation, found)
        else:
            assert isinstance(found, dict)
            answer = finish_histogram(aggregation, found)
        answers[aggregation.name] = answer
    return answers
