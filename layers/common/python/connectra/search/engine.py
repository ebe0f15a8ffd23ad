"""The search engine protocol and its result models; the API depends only on these."""

from __future__ import annotations

from typing import Any, Protocol

from psycopg import Connection
from pydantic import BaseModel, Field

from connectra.models.fields import Entity
from connectra.vql.ast import Query


class SearchPage(BaseModel):
    """One page of results; `next_cursor` continues after its last row (null on the last page)."""

    data: list[dict[str, Any]] = Field(default_factory=list)
    next_cursor: str | None = None
    page: int = 1
    limit: int = 25


class CountResult(BaseModel):
    count: int


class SearchEngine(Protocol):
    """Finds records for a parsed VQL query. `conn` is the PostgreSQL connection rows come from."""

    name: str

    def search(self, conn: Connection[Any], entity: Entity, query: Query) -> SearchPage: ...

    def count(self, conn: Connection[Any], entity: Entity, query: Query) -> int: ...

    def health(self) -> dict[str, Any]: ...
