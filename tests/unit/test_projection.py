"""The AWS projection's OpenSearch sizing (bench/projection.py): the fewest data nodes that
make the target file searchable in the target time, and no fewer."""

from __future__ import annotations

from dataclasses import replace

from bench.projection import (
    TARGET_GIB,
    TARGET_MINUTES,
    Assumptions,
    fewest_opensearch_nodes_for_target,
    project,
)

BYTES_PER_ROW = 239.8


def _searchable_minutes(nodes: int) -> float:
    """The target file's "search caught up" time with `nodes` data nodes, on a database
    and workers fast enough not to be the bound."""
    assumptions = replace(Assumptions(), opensearch_data_nodes=nodes)
    model = project(1e6, BYTES_PER_ROW, 64 * 1024 * 1024, "opensearch", 0.01, assumptions, 0.01)
    case = next(case for case in model["cases"] if case["file_gib"] == TARGET_GIB)
    return float(case["search_caught_up_minutes"])


def test_the_fewest_nodes_make_the_target_file_searchable_in_time_and_one_fewer_does_not() -> None:
    nodes = fewest_opensearch_nodes_for_target(BYTES_PER_ROW)
    assert _searchable_minutes(nodes) <= TARGET_MINUTES
    assert _searchable_minutes(nodes - 1) > TARGET_MINUTES
