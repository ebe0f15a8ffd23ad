"""The inputs and outputs of the ingest state machine's steps (the contract with the CDK).

Start (EventBridge S3 "Object Created") → Plan → Map(Count) → Boundaries → Map(Chunk) →
Finalize. The Lambda handlers and the local pipeline both validate these models at the
edge and hand them to the same step functions of `connectra.ingest`.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectra.ingest.parse import FileFormat
from connectra.models.fields import Entity


class StepModel(BaseModel):
    # Step Functions may pass extra keys along (execution context, previous results).
    model_config = ConfigDict(extra="ignore")


class JobRef(StepModel):
    job_id: uuid.UUID


class PlanInput(JobRef):
    bucket: str
    key: str


class PlanOutput(PlanInput):
    manifest_bucket: str
    manifest_key: str  # JSON array of RangeItem: the Count map's items
    chunk_count: int


class RangeItem(PlanInput):
    chunk_index: int = Field(ge=0)
    start_byte: int = Field(ge=0)
    end_byte: int = Field(ge=0)
    etag: str | None = None  # the object version planned; reads are If-Match on it


class RangeCount(StepModel):
    """Count map result: `"` and newline bytes of one range (newlines give line numbers)."""

    chunk_index: int
    quotes: int = Field(ge=0)
    newlines: int = Field(ge=0)


class BoundariesInput(PlanInput):
    counts: list[RangeCount]


class BoundariesOutput(JobRef):
    manifest_bucket: str
    manifest_key: str  # JSON array of ChunkItem: the Chunk map's items
    chunk_count: int


class ChunkItem(RangeItem):
    entity: Entity
    starts_in_quotes: bool
    first_line: int = Field(default=1, ge=1)  # physical line of start_byte
    file_format: FileFormat = FileFormat.CSV


class ChunkSummary(StepModel):
    chunk_index: int
    rows: int
    inserted: int
    updated: int
    failed: int
    duplicates: int


class FinalizeInput(JobRef):
    failed: bool = False
    error: Any = None


class ImportSummary(JobRef):
    """Finalize's output: how an import run ended."""

    status: str
    total: int
    inserted: int
    updated: int
    failed: int
    duplicates: int
    chunks_total: int
    chunks_done: int
    # Companies the rows of a contacts file carried (combined rows): created, updated.
    companies_inserted: int = 0
    companies_updated: int = 0
    error: str | None = None
    error_report_key: str | None = None
    error_report_url: str | None = None
