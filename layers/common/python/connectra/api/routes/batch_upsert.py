"""`POST /common/batch-upsert`: the original's upsert of raw, CSV-like rows.

Each row is an object keyed by column headers as a CSV export has them ("First Name",
"Email", "Company Id"…), mapped to fields exactly as a CSV import maps its header
(case-insensitive, with aliases), and vendor values are normalized, as in a file
import (ingest/columns.py, ingest/normalize.py). A contact row that carries company
columns ("Company Name", "Website", "# Employees"…) upserts its company and is linked to
it by the code a file import uses (ingest/combined.py), in this request's transaction.
The records then go through `POST /{entity}/bulk`, the one implementation. Columns that
name no field are ignored and listed once in `warnings`.
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import AliasChoices, Field, ValidationError

from connectra.api.deps import ConnDep, SettingsDep, requires
from connectra.api.legacy import LEGACY_WARNINGS
from connectra.api.routes.records import (
    BULK_UPSERTS,
    BulkItem,
    BulkRequest,
    BulkResponse,
)
from connectra.consumers.access import Scope
from connectra.db.records import RecordRepository
from connectra.ingest.columns import (
    company_field,
    field_for,
    is_company_column,
    normalizer_for_key,
)
from connectra.ingest.combined import CompanyRow, company_row, upsert_companies
from connectra.models.fields import Entity
from connectra.models.lenient import LenientInput

router = APIRouter(prefix="/common", tags=["records"])


class BatchUpsertRequest(LenientInput):
    entity: Entity = Field(
        validation_alias=AliasChoices("entity", "service"),
        description="contacts or companies (`service` in the original)",
    )
    rows: list[dict[str, Any]] = Field(
        description="Objects keyed by CSV column headers; at most BULK_MAX_RECORDS",
        examples=[[{"First Name": "Ada", "Last Name": "Lovelace", "Email": "ada@example.com"}]],
    )


class BatchUpsertResponse(BulkResponse):
    warnings: list[str] = LEGACY_WARNINGS


@dataclass
class MappedRows:
    records: list[dict[str, Any]]  # the rows' own fields (company_id linked)
    positions: list[int]  # each record's index in the request's rows
    refused: dict[int, list[dict[str, Any]]]  # index → problems (normalization, company)
    companies: dict[int, CompanyRow]  # index → the row's company
    ignored: list[str]


def records_of(entity: Entity, rows: list[dict[str, Any]]) -> MappedRows:
    """Rows keyed by headers → records keyed by fields, their companies, and what is wrong."""
    mapping: dict[str, str | None] = {}
    mapped = MappedRows([], [], {}, {}, [])
    for index, row in enumerate(rows):
        record: dict[str, Any] = {}
        company: dict[str, Any] = {}
        problems: list[dict[str, Any]] = []
        for header, value in row.items():
            if header not in mapping:
                mapping[header] = field_for(entity, header)
            name = mapping[header]
            if name is None or value is None or value == "":  # blank: missing, as in CSV
                continue
            value = _normalized(header, name, value, f"records[{index}]", problems)
            if is_company_column(name):
                company.setdefault(company_field(name), value)
            else:
                record.setdefault(name, value)
        _attach_company(mapped, index, company, record, problems)
        if problems:
            mapped.refused[index] = problems
        else:
            mapped.records.append(record)
            mapped.positions.append(index)
    mapped.ignored = [
        f"rows[].{header}: no such column for {entity.value}, ignored"
        for header, name in mapping.items()
        if name is None
    ]
    return mapped


def _normalized(
    header: str, name: str, value: Any, path: str, problems: list[dict[str, Any]]
) -> Any:
    normalizer = normalizer_for_key(header, name)
    if normalizer is None:
        return value
    try:
        return normalizer(value)
    except ValueError as exc:
        target = f"company_{company_field(name)}" if is_company_column(name) else name
        problems.append({"path": f"{path}.{target}", "message": str(exc), "type": "value_error"})
        return None


def _attach_company(
    mapped: MappedRows,
    index: int,
    company: dict[str, Any],
    record: dict[str, Any],
    problems: list[dict[str, Any]],
) -> None:
    if not any(value not in (None, "", []) for value in company.values()):
        return
    try:
        mapped.companies[index] = company_row(company, record.get("email"), index)
    except ValidationError as exc:
        problems.extend(
            {
                "path": f"records[{index}].company_{error['loc'][0] if error['loc'] else 'name'}",
                "message": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors()
        )


@router.post(
    "/batch-upsert",
    summary="Upsert raw, CSV-like rows (the original's route; see POST /{entity}/bulk)",
    response_model=BatchUpsertResponse,
    **requires(Scope.WRITE),
)
def batch_upsert(
    body: BatchUpsertRequest, conn: ConnDep, settings: SettingsDep
) -> BatchUpsertResponse:
    mapped = records_of(body.entity, body.rows)
    if mapped.companies:
        outcome = upsert_companies(conn, list(mapped.companies.values()))
        for record, index in zip(mapped.records, mapped.positions, strict=True):
            company = mapped.companies.get(index)
            if company is not None and record.get("company_id") in (None, ""):
                record["company_id"] = outcome.owners.get(company.uuid, company.uuid)
    repository = RecordRepository(
        body.entity, enqueue_search=settings.search_backend == "opensearch"
    )
    bulk = BULK_UPSERTS[body.entity](
        BulkRequest(records=mapped.records), conn, repository, settings
    )
    results = [
        item.model_copy(update={"index": mapped.positions[item.index]}) for item in bulk.results
    ]
    results += [
        BulkItem(index=index, status="error", errors=problems)
        for index, problems in mapped.refused.items()
    ]
    results.sort(key=lambda item: item.index)
    return BatchUpsertResponse(
        inserted=bulk.inserted,
        updated=bulk.updated,
        failed=bulk.failed + len(mapped.refused),
        results=results,
        warnings=[*body.warnings, *mapped.ignored],
    )
