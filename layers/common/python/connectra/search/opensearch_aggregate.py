"""Aggregations on the OpenSearch engine: up to three `size: 0` searches (see
`connectra.vql.aggregation_dsl` for why), then `connectra.vql.aggregation.finish`.

1. every terms, range, missing, and the min/max of each date histogram;
2. only when needed: the calendar buckets of the histograms, the other keys of arrays;
3. only when an array has other keys: the records holding any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectra.vql.aggregation import AggregateQuery, finish
from connectra.vql.aggregation_dsl import (
    compile_first,
    compile_second,
    compile_third,
    read_first,
    read_second,
    read_third,
)

Send = Callable[[dict[str, Any]], dict[str, Any]]


def aggregate(send: Send, query: AggregateQuery) -> dict[str, Any]:
    """`{"total", "aggregations"}`; `send` runs one search body on the entity's index."""
    first = read_first(query, send(compile_first(query)))
    second = compile_second(query, first)
    if second is not None:
        others = read_second(query, first, send(second))
        third = compile_third(query, others)
        if third is not None:
            read_third(query, first, send(third))
    return {"total": first.total, "aggregations": finish(query, first.total, first.figures)}
