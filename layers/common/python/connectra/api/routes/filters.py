"""`GET /common/{service}/filters` and `POST /common/{service}/filters/data`."""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectra.api.deps import ConnDep, GateDep, requires
from connectra.api.legacy import LEGACY_WARNINGS, legacy_alias
from connectra.consumers.access import Scope
from connectra.db.filters import filter_values, list_filters, resolve_filter
from connectra.models.fields import Entity
from connectra.models.lenient import LenientInput
from connectra.vql.ast import MAX_WINDOW

router = APIRouter(prefix="/common", tags=["filters"])


class FilterInfo(BaseModel):
    key: str
    service: Entity
    display_name: str
    filter_type: str
    direct_derived: bool


class FiltersResponse(BaseModel):
    data: list[FilterInfo]


class FilterDataRequest(LenientInput):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filter_key": "seniority", "search_text": "sen"}]},
    )

    filter_key: str = Field(max_length=100, pattern=r"^[^\x00]*$")
    search_text: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00]*$")
    page: int = Field(default=1, ge=1)
    limit: int = Field(default=25, ge=1, le=100)

    @model_validator(mode="after")
    def _bounded_window(self) -> "FilterDataRequest":
        if self.page * self.limit > MAX_WINDOW:
            raise ValueError(f"page * limit may not exceed {MAX_WINDOW}")
        return self


class FilterValue(BaseModel):
    value: str
    display_value: str
    count: int


class FilterDataResponse(BaseModel):
    data: list[FilterValue]
    page: int
    limit: int
    warnings: list[str] = LEGACY_WARNINGS


@router.get("/{service}/filters", summary="The filters of a service", **requires(Scope.READ))
def get_filters(service: Entity, conn: ConnDep) -> FiltersResponse:
    rows: list[dict[str, Any]] = list_filters(conn, service)
    return FiltersResponse(data=[FilterInfo.model_validate(row) for row in rows])


@router.post(
    "/{service}/filters/data",
    summary="Values of one filter: searchable (contains), paginated, most frequent first",
    **requires(Scope.READ),
)
def get_filter_data(
    service: Entity, body: FilterDataRequest, conn: ConnDep, gate: GateDep
) -> FilterDataResponse:
    # A premium field's values are premium data: its dropdown is refused like a filter.
    gate.check_fields(service, [body.filter_key], "filter")
    source = resolve_filter(conn, service, body.filter_key)
    rows = filter_values(conn, source, body.search_text, body.limit, (body.page - 1) * body.limit)
    return FilterDataResponse(
        data=[FilterValue.model_validate(row) for row in rows],
        page=body.page,
        limit=body.limit,
        warnings=body.warnings,
    )


legacy_alias(
    router,
    "/filters/{service}",
    get_filters,
    "GET /common/{service}/filters",
    method="GET",
    options=requires(Scope.READ),
)
legacy_alias(
    router,
    "/filters/{service}/data",
    get_filter_data,
    "POST /common/{service}/filters/data",
    options=requires(Scope.READ),
)
