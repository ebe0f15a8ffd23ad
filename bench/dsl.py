"""DSL compile time: VQL → AST → OpenSearch body, per query, over a fixed query mix.

The mix is every query shape of the search benchmark (bench/shapes.py) plus every
conformance case (79 queries of
every search type, keyword, range, sort and projection). Measured in the same run:

* `parse_us`: JSON body → validated AST (`parse_request`), the baseline every engine pays;
* `compile_us`: AST → DSL body (`compile_search`), what this compiler adds;
* `parse_and_compile_us`: both, what a search request spends before any I/O;
* `json_dumps_us`: serializing the body (what opensearch-py does next), for scale.

Times are per query (the mean over the mix), best of `rounds` rounds of `iterations`
passes, so the figure is the machine's steady state rather than scheduler noise.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import machine, write_result
from connectra.models.fields import Entity
from connectra.vql.ast import Query
from connectra.vql.dsl import compile_search
from connectra.vql.parse import parse_request

SECRET = "bench-dsl"


def query_mix() -> list[tuple[Entity, dict[str, Any]]]:
    from bench.shapes import example_values, generate
    from tests.integration.search.cases import CASES

    mix = [(shape.entity, shape.vql) for shape in generate(example_values())]
    mix.extend((Entity(case["entity"]), case["vql"]) for case in CASES)
    return mix


def _per_query_us(
    action: Callable[[], object], queries: int, iterations: int, rounds: int
) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(iterations):
            action()
        best = min(best, time.perf_counter() - started)
    return round(best / (iterations * queries) * 1e6, 2)


def run(quick: bool = False) -> dict[str, Any]:
    mix = query_mix()
    iterations, rounds = (30, 3) if quick else (200, 3)
    parsed: list[Query] = [parse_request(vql, e, cursor_secret=SECRET) for e, vql in mix]
    bodies = [compile_search(query) for query in parsed]

    def parse_all() -> None:
        for entity, vql in mix:
            parse_request(vql, entity, cursor_secret=SECRET)

    def compile_all() -> None:
        for query in parsed:
            compile_search(query)

    def both() -> None:
        for entity, vql in mix:
            compile_search(parse_request(vql, entity, cursor_secret=SECRET))

    def dumps_all() -> None:
        for body in bodies:
            json.dumps(body)

    n = len(mix)
    result: dict[str, Any] = {
        "quick": quick,
        "machine": machine(),
        "queries_in_mix": n,
        "iterations": iterations,
        "rounds": rounds,
        "parse_us": _per_query_us(parse_all, n, iterations, rounds),
        "compile_us": _per_query_us(compile_all, n, iterations, rounds),
        "parse_and_compile_us": _per_query_us(both, n, iterations, rounds),
        "json_dumps_us": _per_query_us(dumps_all, n, iterations, rounds),
    }
    result["compile_share_of_parse_and_compile"] = round(
        result["compile_us"] / result["parse_and_compile_us"], 3
    )
    write_result("dsl", result)
    return result


if __name__ == "__main__":
    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
    sys.stdout.write("\n")
