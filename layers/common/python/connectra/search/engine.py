"""The search engine protocol and its result models; the API depends only on these."""

from __future__ import annotations

from typing import Any, Protocol

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


class CountResult(BaseModel):
    count: int
    cached: bool = Field(default=False, description="True when answered from the result cache")


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

    def count(self, conn: Connection[Any], entity: Entity, query: Query) -> int: ...

    def aggregate(self, conn: Connection[Any], query: AggregateQuery) -> AggregateResult: ...

    def health(self) -> dict[str, Any]: ...
