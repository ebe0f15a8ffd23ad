"""What an export job is asked for, and the columns it writes.

The VQL body selects and orders the rows (its page, limit and search_after are ignored:
an export holds every matching row). `columns` are the header of the file: table
columns of the entity and, for contacts, `company_<field>` columns read from the
contact's company. Without `columns`, the VQL `select_columns` (or every table column).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from connectra.errors import ValidationFailed
from connectra.models.fields import COMPANY_FIELDS, COMPANY_PREFIX, TABLE_COLUMNS, Entity
from connectra.models.json_safe import storable_json
from connectra.vql.ast import Query
from connectra.vql.parse import parse_request

# Paging keys of a search request; an export streams every row instead.
PAGING_KEYS = ("page", "limit", "search_after")


class ExportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


class ExportRequest(BaseModel):
    """The `data` of an export job (also the body of `POST /common/jobs/create`)."""

    model_config = ConfigDict(extra="forbid")

    entity: Entity
    vql: Annotated[dict[str, Any], AfterValidator(storable_json)] = Field(
        default_factory=dict, examples=[{"where": {}}]
    )
    columns: list[str] | None = Field(default=None, max_length=200)
    format: ExportFormat = ExportFormat.CSV
    gzip: bool = False
    # Spreadsheet safety (OWASP CSV injection); off only for files meant for re-import.
    formula_escape: bool = True
    # Columns written empty: premium fields on the caller's plan. Set by the API from the
    # plan (connectra.consumers.gating), never taken from the request.
    redacted_columns: SkipJsonSchema[list[str]] = Field(default_factory=list)


@dataclass(frozen=True)
class ExportPlan:
    """The parsed query plus the file's header and where each header column comes from."""

    query: Query
    header: tuple[str, ...]

    @property
    def entity(self) -> Entity:
        return self.query.entity


def all_columns(entity: Entity) -> tuple[str, ...]:
    """Every column an export of `entity` may write, in a stable order."""
    own = TABLE_COLUMNS[entity]
    if entity is not Entity.CONTACTS:
        return own
    return own + tuple(COMPANY_PREFIX + name for name in COMPANY_FIELDS)


def _header(request: ExportRequest) -> tuple[str, ...]:
    if request.columns is not None:
        requested = request.columns
        path = "columns"
    else:
        selected = request.vql.get("select_columns")
        if selected is None:
            return TABLE_COLUMNS[request.entity]
        requested = list(selected) if isinstance(selected, list) else []
        path = "vql.select_columns"
    allowed = set(all_columns(request.entity))
    problems = [
        {"path": f"{path}[{index}]", "message": f"unknown column {name!r}", "type": "unknown_field"}
        for index, name in enumerate(requested)
        if name not in allowed
    ]
    if not requested:
        problems.append({"path": path, "message": "give at least one column", "type": "missing"})
    if problems:
        raise ValidationFailed(f"{problems[0]['path']}: {problems[0]['message']}", problems)
    return tuple(dict.fromkeys(requested))


def plan_export(request: ExportRequest) -> ExportPlan:
    """Validate the VQL and the columns; raises ValidationFailed naming the bad path."""
    header = _header(request)
    own = [name for name in header if name in TABLE_COLUMNS[request.entity]]
    company = [
        name[len(COMPANY_PREFIX) :]
        for name in header
        if name not in TABLE_COLUMNS[request.entity] and name.startswith(COMPANY_PREFIX)
    ]
    body = {key: value for key, value in request.vql.items() if key not in PAGING_KEYS}
    body["select_columns"] = own
    body.pop("company_config", None)
    if company:
        body["company_config"] = {"populate": True, "select_columns": company}
    try:
        query = parse_request(body, request.entity)
    except ValidationFailed as exc:
        details = [
            {**problem, "path": f"vql.{problem.get('path', '')}"}
            for problem in (exc.details or [])
            if isinstance(problem, dict)
        ]
        raise ValidationFailed(f"vql.{exc.message}", details) from None
    return ExportPlan(query=replace(query, page=1, search_after=None), header=header)
