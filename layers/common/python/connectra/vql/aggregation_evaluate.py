"""The reference evaluation of aggregations over dict rows (clarity over speed).

The oracle the conformance and property tests compare the engines with: the rows the
filter keeps (`connectra.vql.evaluate.row_matches`), then each aggregation by the rules
of `connectra.vql.aggregation`, counted one record at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from connectra.vql.aggregation import (
    AggregateQuery,
    DateHistogramAggregation,
    Figures,
    RangeAggregation,
    TermsAggregation,
    TermsFigures,
    bucket_start,
    finish,
    finish_terms,
    normalize_key,
)
from connectra.vql.ast import Query
from connectra.vql.evaluate import Row, field_value, row_matches


def record_keys(value: Any) -> set[str]:
    """A record's distinct terms keys (an array gives each distinct key once)."""
    values = value if isinstance(value, list | tuple) else [value]
    return {key for item in values if (key := normalize_key(item)) is not None}


def terms_figures(aggregation: TermsAggregation, values: list[Any]) -> TermsFigures:
    per_record = [record_keys(value) for value in values]
    counts = Counter(key for keys in per_record for key in keys)
    best = finish_terms(aggregation, TermsFigures(top=list(counts.items()), with_value=0))
    returned = {bucket["key"] for bucket in best["buckets"]}
    return TermsFigures(
        top=list(counts.items()),
        with_value=sum(1 for keys in per_record if keys),
        outside=sum(1 for keys in per_record if keys - returned),
    )


def range_counts(aggregation: RangeAggregation, values: list[Any]) -> list[int]:
    return [
        sum(
            1
            for value in values
            if value is not None
            and (bucket.gte is None or value >= bucket.gte)
            and (bucket.lt is None or value < bucket.lt)
        )
        for bucket in aggregation.ranges
    ]


def histogram_counts(aggregation: DateHistogramAggregation, values: list[Any]) -> dict[date, int]:
    return dict(
        Counter(
            bucket_start(value, aggregation.interval)
            for value in values
            if isinstance(value, datetime)
        )
    )


def aggregate(
    query: AggregateQuery, rows: Iterable[Row], companies: Mapping[Any, Row] | None = None
) -> dict[str, Any]:
    """`{"total", "aggregations"}` as the API answers (without `cached`)."""
    companies = companies or {}
    # The row filter and company lookup of the search evaluator, through a search query.
    lookup = Query(entity=query.entity, filter=query.filter, sort=(), limit=1)
    matched = [row for row in rows if row_matches(lookup, row, companies)]
    figures: dict[str, Figures] = {}
    for aggregation in query.aggregations:
        values = [field_value(lookup, row, aggregation.field.name, companies) for row in matched]
        if isinstance(aggregation, TermsAggregation):
            figures[aggregation.name] = terms_figures(aggregation, values)
        elif isinstance(aggregation, RangeAggregation):
            figures[aggregation.name] = range_counts(aggregation, values)
        else:
            figures[aggregation.name] = histogram_counts(aggregation, values)
    return {"total": len(matched), "aggregations": finish(query, len(matched), figures)}
