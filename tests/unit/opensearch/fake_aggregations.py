"""The fake cluster's interpreter of the aggregations `connectra.vql.aggregation_dsl`
emits: `terms` (size, order by _count desc then _key asc, exclude), `missing`, `range`
(keyed, from inclusive / to exclusive), `min`, `max` and `filter`.

As OpenSearch reads them on one shard: a document counts once per distinct term it
holds; `sum_other_doc_count` sums the doc counts of the terms not returned (excluded
terms count nowhere); min/max of no value is null.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.unit.opensearch import fake_cluster


def _terms_of(mappings: dict[str, Any], doc: dict[str, Any], path: str) -> list[Any]:
    return fake_cluster.indexed_terms(fake_cluster.field_spec(mappings, path), doc)


def evaluate_aggregations(
    mappings: dict[str, Any], docs: list[dict[str, Any]], aggs: dict[str, Any]
) -> dict[str, Any]:
    return {name: _one(mappings, docs, spec) for name, spec in aggs.items()}


def _one(mappings: dict[str, Any], docs: list[dict[str, Any]], spec: dict[str, Any]) -> Any:
    kind, args = fake_cluster._single(spec)
    if kind == "filter":
        kept = [doc for doc in docs if fake_cluster.evaluate(mappings, doc, args)]
        return {"doc_count": len(kept)}
    if kind == "missing":
        return {"doc_count": sum(1 for doc in docs if not _terms_of(mappings, doc, args["field"]))}
    if kind in ("min", "max"):
        values = [v for doc in docs for v in _terms_of(mappings, doc, args["field"])]
        pick = min if kind == "min" else max
        return {"value": float(pick(values)) if values else None}
    if kind == "range":
        return _range(mappings, docs, args)
    if kind == "terms":
        return _terms(mappings, docs, args)
    raise KeyError(f"aggregation {kind!r} is not emulated")


def _range(mappings: dict[str, Any], docs: list[dict[str, Any]], args: dict[str, Any]) -> Any:
    assert args.get("keyed") is True, "unkeyed ranges come back sorted by bound: not emulated"
    buckets = {}
    for spec in args["ranges"]:
        count = sum(
            1
            for doc in docs
            if any(
                ("from" not in spec or value >= spec["from"])
                and ("to" not in spec or value < spec["to"])
                for value in _terms_of(mappings, doc, args["field"])
            )
        )
        buckets[spec["key"]] = {"doc_count": count}
    return {"buckets": buckets}


def _terms(mappings: dict[str, Any], docs: list[dict[str, Any]], args: dict[str, Any]) -> Any:
    assert args.get("order", [{"_count": "desc"}, {"_key": "asc"}]) == [
        {"_count": "desc"},
        {"_key": "asc"},
    ]
    excluded = set(args.get("exclude", []))
    counts = Counter(
        term
        for doc in docs
        for term in set(_terms_of(mappings, doc, args["field"]))
        if term not in excluded
    )
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    size = int(args.get("size", 10))
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": sum(count for _term, count in ordered[size:]),
        "buckets": [{"key": term, "doc_count": count} for term, count in ordered[:size]],
    }
