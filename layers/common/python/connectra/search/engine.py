"""The search engine protocol and its result models; the API depends only on these."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from psycopg import Connection
from pydantic import BaseModel, Field

from connectra.models.fields import Entity
from connectra.vql.aggregation import AggregateQuery
from connectra.vql.ast import Query


class SearchPage(BaseModel):
    """One page of results; `next_cursor` continues after its last row (null on the last page)."""

    data: list[dict[str, Any]] = Field(default_factory=list)
    next_cursor: str | None = None
    page: int = 1
    limit: int = 25


# A count stops at this many matches unless the caller asks for the exact figure: past it
# the answer is {"count": COUNT_EXACT_UP_TO, "relation": "gte"}; both engines answer the
# same (OpenSearch gets it as `track_total_hits`). Counting more costs a heap visit per
# match in PostgreSQL: 1,000 keeps every query shape's count within 150 ms at 1M rows
# (bench/results/search.md); the setting COUNT_EXACT_UP_TO changes it.
COUNT_EXACT_UP_TO = 1_000


class CountResult(BaseModel):
    """`relation` "eq": `count` is the number of matches; "gte": there are at least `count`
    (the count stopped at its bound; ask with `exact_count: true` for the exact figure)."""

    count: int
    relation: Literal["eq", "gte"] = "eq"
    cached: bool = Field(default=False, description="True when answered from the result cache")


def bounded(matches: int, up_to: int | None) -> CountResult:
    """The answer for `matches` found while counting at most `up_to` + 1 of them."""
    if up_to is not None and matches > up_to:
        return CountResult(count=up_to, relation="gte")
    return CountResult(count=matches, relation="eq")


class AggregateResult(BaseModel):
    """`POST /{entity}/aggregate`: the matching records and each aggregation's buckets."""

    total: int
    aggregations: dict[str, dict[str, Any]] = Field(
        description="By name, in request order: terms `{buckets: [{key, count}], other_count, "
        "missing_count}`, range `{buckets: [{gte?, lt?, count}]}` in request order, "
        "date_histogram `{buckets: [{key: YYYY-MM-DD, count}]}` ascending"
    )
    cached: bool = Field(default=False, description="True when answered from the result cache")


class SearchEngine(Protocol):
    """Finds records for a parsed VQL query. `conn` is the PostgreSQL connection rows come from."""

    name: str

    def search(self, conn: Connection[Any], entity: Entity, query: Query) -> SearchPage: ...

    def count(self, conn: Connection[Any], entity: Entity, query: Query) -> int:
        """The exact number of matches."""
        ...

    def count_up_to(
        self, conn: Connection[Any], entity: Entity, query: Query, up_to: int | None
    ) -> CountResult:
        """Matches counted exactly up to `up_to` ("gte" beyond it); None: exact."""
        ...

    def aggregate(self, conn: Connection[Any], query: AggregateQuery) -> AggregateResult: ...

    def health(self) -> dict[str, Any]: ...
