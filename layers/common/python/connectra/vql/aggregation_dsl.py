"""Aggregations → OpenSearch request bodies, and their responses → engine figures.

Pure functions (no I/O); `connectra.search.opensearch_aggregate` sends the bodies. The
meaning is `connectra.vql.aggregation`'s; how each part keeps it on OpenSearch:

* Every body is `size: 0` over the VQL filter (`connectra.vql.dsl.compile_filter`).
  Aggregation names in the DSL are positional (`a0`, `a1`, …): the caller's names may
  hold characters OpenSearch reserves (`[`, `]`, `>`).
* Terms: a `terms` aggregation on the lower-cased keyword (`<f>.lower`; arrays and
  uuids are already lower-case keywords), `order: [_count desc, _key asc]` (keyword order
  is code-point order), plus a `missing` aggregation. A document holds each distinct
  term once, so an array counts each distinct value once per record. Keys are passed
  through `normalize_key` again (values are stored trimmed by the write path, which the
  lowercase normalizer does not do): keys it merges are summed.
  `other_count` of a single-valued field: records with a value minus the buckets. Of an
  array field (a record may hold returned and other keys): when `sum_other_doc_count`
  says other keys exist, a second body lists them (`terms` with `exclude`) and a third
  counts the records holding any of them (`filter` with `terms`), at most
  `OUTSIDE_TERMS_LIMIT` distinct other keys.
* Range: a `keyed` `range` aggregation (OpenSearch sorts the buckets of an unkeyed one
  by their bounds; keys `"0"`, `"1"`, … give the request's order back). `from` is
  inclusive and `to` exclusive, the AST's gte/lt; dates are epoch microseconds, and a
  fractional bound on an integer field is made the equivalent integer (`ceil`).
* Date histogram: the index stores dates as epoch-microsecond longs, which OpenSearch's
  `date_histogram` would read as milliseconds. So the first body asks `min` and `max`,
  and the second one `range` bucket per calendar interval between them (UTC bounds
  computed here by `connectra.vql.aggregation`'s calendar); empty buckets are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectra.errors import ValidationFailed
from connectra.vql.aggregation import (
    AggregateQuery,
    Aggregation,
    DateHistogramAggregation,
    Figures,
    RangeAggregation,
    TermsAggregation,
    TermsFigures,
    bucket_start,
    bucket_starts,
    check_histogram_span,
    midnight,
    next_bucket,
    normalize_key,
)
from connectra.vql.ast import RangeValue
from connectra.vql.dsl import compile_filter
from connectra.vql.field_paths import from_micros, keyword_path, range_path, to_micros

Body = dict[str, Any]

OUTSIDE_TERMS_LIMIT = 50_000  # under the default search.max_buckets and max_terms_count


def _name(index: int) -> str:
    return f"a{index}"


def _terms_path(item: TermsAggregation) -> str:
    return keyword_path(item.field)


def _base(query: AggregateQuery, aggs: Body) -> Body:
    return {
        "query": compile_filter(query.filter),
        "size": 0,
        "track_total_hits": True,
        "aggs": aggs,
    }


# -- first body ----------------------------------------------------------------------------


def compile_first(query: AggregateQuery) -> Body:
    aggs: Body = {}
    for index, item in enumerate(query.aggregations):
        name = _name(index)
        if isinstance(item, TermsAggregation):
            path = _terms_path(item)
            aggs[name] = {
                "terms": {
                    "field": path,
                    "size": item.size,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
            aggs[f"{name}_missing"] = {"missing": {"field": path}}
        elif isinstance(item, RangeAggregation):
            aggs[name] = {"range": compile_ranges(item)}
        else:
            path = range_path(item.field)
            aggs[f"{name}_min"] = {"min": {"field": path}}
            aggs[f"{name}_max"] = {"max": {"field": path}}
    return _base(query, aggs)


def _long(value: RangeValue) -> int | float:
    if isinstance(value, float):
        return math.ceil(value)  # integers: x >= 49.5 ⟺ x >= 50, x < 49.5 ⟺ x < 50
    if isinstance(value, int):
        return value
    return to_micros(value)


def compile_ranges(item: RangeAggregation) -> Body:
    ranges = []
    for position, bucket in enumerate(item.ranges):
        spec: Body = {"key": str(position)}
        if bucket.gte is not None:
            spec["from"] = _long(bucket.gte)
        if bucket.lt is not None:
            spec["to"] = _long(bucket.lt)
        ranges.append(spec)
    return {"field": range_path(item.field), "keyed": True, "ranges": ranges}


# -- reading the first answer -------------------------------------------------------------


@dataclass
class FirstAnswer:
    total: int
    figures: dict[str, Figures] = field(default_factory=dict)
    # histogram name → (first, last) bucket start; array terms name → the raw returned keys
    histogram_spans: dict[str, tuple[date, date]] = field(default_factory=dict)
    arrays_with_others: dict[str, list[str]] = field(default_factory=dict)


def read_first(query: AggregateQuery, response: Body) -> FirstAnswer:
    total = int(response["hits"]["total"]["value"])
    found = response.get("aggregations", {})
    answer = FirstAnswer(total=total)
    for index, item in enumerate(query.aggregations):
        name = _name(index)
        if isinstance(item, TermsAggregation):
            _read_terms(item, found[name], found[f"{name}_missing"], answer)
        elif isinstance(item, RangeAggregation):
            buckets = found[name]["buckets"]
            answer.figures[item.name] = [
                int(buckets[str(position)]["doc_count"]) for position in range(len(item.ranges))
            ]
        else:
            low, high = found[f"{name}_min"].get("value"), found[f"{name}_max"].get("value")
            answer.figures[item.name] = {}
            if low is not None and high is not None:
                first = bucket_start(from_micros(int(low)), item.interval)
                last = bucket_start(from_micros(int(high)), item.interval)
                check_histogram_span(item, [first, last])
                answer.histogram_spans[item.name] = (first, last)
    return answer


def _read_terms(item: TermsAggregation, terms: Body, missing: Body, answer: FirstAnswer) -> None:
    with_value = answer.total - int(missing["doc_count"])
    top: list[tuple[str, int]] = []
    for bucket in terms["buckets"]:
        key = normalize_key(bucket["key"])
        if key is None:
            with_value -= int(bucket["doc_count"])  # a blank value is no value
        else:
            top.append((key, int(bucket["doc_count"])))
    outside: int | None = None
    if item.field.is_array:
        outside = 0
        if int(terms.get("sum_other_doc_count", 0)) > 0:
            answer.arrays_with_others[item.name] = [str(b["key"]) for b in terms["buckets"]]
    answer.figures[item.name] = TermsFigures(top=top, with_value=with_value, outside=outside)


# -- second body: histogram buckets and the other keys of arrays ---------------------------


def compile_second(query: AggregateQuery, first: FirstAnswer) -> Body | None:
    aggs: Body = {}
    for index, item in enumerate(query.aggregations):
        name = _name(index)
        if isinstance(item, DateHistogramAggregation) and item.name in first.histogram_spans:
            low, high = first.histogram_spans[item.name]
            aggs[name] = {"range": compile_calendar(item, bucket_starts(low, high, item.interval))}
        elif isinstance(item, TermsAggregation) and item.name in first.arrays_with_others:
            aggs[name] = {
                "terms": {
                    "field": _terms_path(item),
                    "exclude": first.arrays_with_others[item.name],
                    "size": OUTSIDE_TERMS_LIMIT,
                }
            }
    return _base(query, aggs) if aggs else None


def compile_calendar(item: DateHistogramAggregation, starts: list[date]) -> Body:
    ranges = [
        {
            "key": start.isoformat(),
            "from": to_micros(midnight(start)),
            "to": to_micros(midnight(next_bucket(start, item.interval))),
        }
        for start in starts
    ]
    return {"field": range_path(item.field), "keyed": True, "ranges": ranges}


def read_second(query: AggregateQuery, first: FirstAnswer, response: Body) -> dict[str, list[str]]:
    """Fills the histograms into `first.figures`; returns array name → its other keys."""
    found = response.get("aggregations", {})
    others: dict[str, list[str]] = {}
    for index, item in enumerate(query.aggregations):
        name = _name(index)
        if name not in found:
            continue
        if isinstance(item, DateHistogramAggregation):
            first.figures[item.name] = {
                date.fromisoformat(key): int(bucket["doc_count"])
                for key, bucket in found[name]["buckets"].items()
            }
        elif isinstance(item, TermsAggregation):
            if int(found[name].get("sum_other_doc_count", 0)) > 0:
                _too_many_keys(item)
            others[item.name] = [str(bucket["key"]) for bucket in found[name]["buckets"]]
    return others


def _too_many_keys(item: Aggregation) -> None:
    path = f"{item.path}.field"
    message = (
        f"more than {OUTSIDE_TERMS_LIMIT} distinct values outside the buckets: "
        "narrow the where to count other_count exactly"
    )
    raise ValidationFailed(
        f"{path}: {message}", [{"path": path, "message": message, "type": "too_many_buckets"}]
    )


# -- third body: records holding an other key of an array ---------------------------------


def compile_third(query: AggregateQuery, others: dict[str, list[str]]) -> Body | None:
    aggs: Body = {}
    for index, item in enumerate(query.aggregations):
        if isinstance(item, TermsAggregation) and others.get(item.name):
            aggs[_name(index)] = {"filter": {"terms": {_terms_path(item): others[item.name]}}}
    return _base(query, aggs) if aggs else None


def read_third(query: AggregateQuery, first: FirstAnswer, response: Body) -> None:
    found = response.get("aggregations", {})
    for index, item in enumerate(query.aggregations):
        name = _name(index)
        figures = first.figures.get(item.name)
        if name in found and isinstance(figures, TermsFigures):
            first.figures[item.name] = TermsFigures(
                top=figures.top,
                with_value=figures.with_value,
                outside=int(found[name]["doc_count"]),
            )
