"""`POST /common/batch-upsert`: the original's upsert of raw, CSV-like rows.

Each row is an object keyed by column headers as a CSV export has them ("First Name",
"Email", "Company Id"…), mapped to fields exactly as a CSV import maps its header
(case-insensitive, with aliases); the records then go through `POST /{entity}/bulk`,
the one implementation. Columns that name no field are ignored and listed once in
`warnings`; a contact's company-reference columns ("Company Name"…) link companies
only in file imports, so they are reported there too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AliasChoices, Field

from connectra.api.deps import ConnDep, SettingsDep, requires
from connectra.api.legacy import LEGACY_WARNINGS
from connectra.api.routes.records import BULK_UPSERTS, ERROR_RESPONSES, BulkRequest, BulkResponse
from connectra.consumers.access import Scope
from connectra.db.records import RecordRepository
from connectra.ingest.columns import COMPANY_REF_PREFIX, field_for
from connectra.models.fields import Entity
from connectra.models.lenient import LenientInput

router = APIRouter(prefix="/common", tags=["records"], responses=ERROR_RESPONSES)


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


def records_of(
    entity: Entity, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows keyed by headers → records keyed by fields; and the headers that were ignored."""
    mapping: dict[str, str | None] = {}
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {}
        for header, value in row.items():
            if header not in mapping:
                mapping[header] = field_for(entity, header)
            name = mapping[header]
            if name is None or name.startswith(COMPANY_REF_PREFIX):
                continue
            if value is not None and value != "":  # blank cells are missing values, as in CSV
                record.setdefault(name, value)
        records.append(record)
    ignored = [
        f"rows[].{header}: no such column for {entity.value}, ignored"
        for header, name in mapping.items()
        if name is None or name.startswith(COMPANY_REF_PREFIX)
    ]
    return records, ignored


@router.post(
    "/batch-upsert",
    summary="Upsert raw, CSV-like rows (the original's route; see POST /{entity}/bulk)",
    response_model=BatchUpsertResponse,
    **requires(Scope.WRITE),
)
def batch_upsert(
    body: BatchUpsertRequest, conn: ConnDep, settings: SettingsDep
) -> BatchUpsertResponse:
    records, ignored = records_of(body.entity, body.rows)
    repository = RecordRepository(
        body.entity, enqueue_search=settings.search_backend == "opensearch"
    )
    outcome = BULK_UPSERTS[body.entity](BulkRequest(records=records), conn, repository, settings)
    return BatchUpsertResponse(**dict(outcome), warnings=[*body.warnings, *ignored])
