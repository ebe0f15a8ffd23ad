"""Jobs: create (import or export, idempotent), list, retry, cancel.

`GET /common/jobs/{id}` lives in routes/jobs.py. Every route sees only the caller's jobs:
another caller's job id is a 404, exactly like a missing one.

In AWS a created or retried job starts its Step Functions execution before the response
(`in_queue`); the sweeper stays the fallback (a failed start, a lost request). Locally no
state machine is configured: the runner and the sweeper processes start it (`open`).
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Response
from psycopg import Connection
from pydantic import BaseModel, Field, TypeAdapter

from connectra.api.deps import (
    CallerDep,
    ConnDep,
    GateDep,
    LauncherDep,
    SettingsDep,
    get_meter,
)
from connectra.api.legacy import LEGACY_WARNINGS
from connectra.api.routes.jobs import legacy_view
from connectra.consumers.access import Consumer, Scope
from connectra.consumers.gating import PlanGate
from connectra.consumers.plans import Metric
from connectra.export.request import plan_export
from connectra.jobs import repository
from connectra.jobs.legacy import (
    CURRENT_TO_LEGACY_TYPE,
    LEGACY_STATUS_FILTER,
    LEGACY_TYPES,
    LegacyJob,
    LegacyJobRequest,
    legacy_status,
    states_reported_as,
    translate,
)
from connectra.jobs.models import Job, JobStatus
from connectra.models.lenient import LenientInput
from connectra.orchestration import service

if TYPE_CHECKING:
    from connectra.orchestration.launchers import StepFunctionsLauncher

router = APIRouter(prefix="/common/jobs", tags=["jobs"])

# Jobs need the scope of their type: exports read, imports write.
JOB_SCOPES = {"export": Scope.READ, "import": Scope.WRITE}
BY_JOB_TYPE: dict[str, Any] = {
    "openapi_extra": {"x-required-scope": "read (export) or write (import)"},
    "description": "Needs the `read` scope for an export job, `write` for an import job.",
}
ANY_SCOPE: dict[str, Any] = {
    "openapi_extra": {"x-required-scope": "any"},
    "description": "Needs a valid key of any scope: each key sees only its own jobs.",
}


class JobSummary(BaseModel):
    job_id: uuid.UUID
    job_type: str
    entity: str
    status: str
    total_rows: int
    failed_rows: int
    retry_count: int
    max_retries: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> "JobSummary":
        fields = job.model_dump(include=set(cls.model_fields) - {"job_id"})
        summary = cls(job_id=job.uuid, **fields)
        if job.legacy_request:  # created in the original's form: its names
            summary.job_type = CURRENT_TO_LEGACY_TYPE[job.job_type]
            summary.status = legacy_status(job.status)
        return summary


class JobList(BaseModel):
    data: list[JobSummary]
    next_cursor: str | None = None
    limit: int
    warnings: list[str] = LEGACY_WARNINGS


class JobListRequest(LenientInput):
    status: list[JobStatus | Literal["retry_in_queued"]] | None = Field(default=None, max_length=20)
    job_type: str | None = Field(
        default=None, pattern="^(import|export|insert_csv_file|export_csv_file)$"
    )
    limit: int = Field(default=25, ge=1, le=service.MAX_LIST_LIMIT)
    cursor: str | None = Field(default=None, max_length=500)

    def statuses(self) -> list[JobStatus] | None:
        """Today's states asked for (the original's `retry_in_queued` included)."""
        if self.status is None:
            return None
        found: list[JobStatus] = []
        for name in self.status:
            found.extend(LEGACY_STATUS_FILTER.get(name) or [JobStatus(name)])
        return found

    def current_job_type(self) -> str | None:
        return LEGACY_TYPES.get(self.job_type or "", self.job_type)


CURRENT_REQUEST: TypeAdapter[Any] = TypeAdapter(service.JobCreateRequest)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _start_now(conn: Connection[Any], job: Job, launcher: "StepFunctionsLauncher") -> Job:
    """Start a committed job's execution when its state machine is configured; the job
    as it now stands."""
    if not launcher.configured_for(job.job_type):
        return job
    from connectra.orchestration import sweeper  # only here: keeps ingest out of cold start

    sweeper.launch_now(job.uuid, launcher)
    return repository.get_job(conn, job.uuid) or job


CreateRequest = Annotated[
    service.ImportJobRequest | service.ExportJobRequest | LegacyJobRequest,
    Field(discriminator="job_type"),
]


@router.post(
    "/create",
    summary="Create an import (existing S3 key) or export (VQL + columns) job",
    response_model=JobSummary | LegacyJob,
    status_code=201,
    responses={200: {"description": "The job this Idempotency-Key (or upload) already created"}},
    **{
        **BY_JOB_TYPE,
        "description": BY_JOB_TYPE["description"]
        + " Also accepts the original's form (`insert_csv_file` / `export_csv_file` with"
        " `data`), answered in the original's job shape.",
    },
)
def create_job(
    body: Annotated[CreateRequest, Body()],
    caller: CallerDep,
    gate: GateDep,
    conn: ConnDep,
    response: Response,
    settings: SettingsDep,
    launcher: LauncherDep,
    idempotency_key: IdempotencyKey = None,
) -> JobSummary | LegacyJob:
    legacy = body if isinstance(body, LegacyJobRequest) else None
    request: service.ImportJobRequest | service.ExportJobRequest
    if isinstance(body, LegacyJobRequest):
        request = translate(body, settings.upload_prefix, CURRENT_REQUEST)
    else:
        request = body
    caller.require(JOB_SCOPES[request.job_type])
    export_rows = 0
    if isinstance(request, service.ExportJobRequest):
        request, export_rows = _gated_export(request, gate)
    with conn.transaction():
        job, created = service.create_job(
            conn, request, owner_key_id=caller.key_id, idempotency_key=idempotency_key
        )
        if created:  # a replayed Idempotency-Key costs nothing more
            _charge(conn, caller, job, export_rows)
        if legacy is not None:
            repository.record_legacy_request(conn, job.uuid, legacy.model_dump(mode="json"))
    if created:
        job = _start_now(conn, job, launcher)
    else:
        response.status_code = 200
    if legacy is not None or job.legacy_request:
        fresh = repository.get_job(conn, job.uuid) or job
        return legacy_view(conn, fresh, settings)
    return JobSummary.of(job)


@router.post(
    "",
    summary="List the caller's jobs (filters, cursor paging)",
    response_model=JobList,
    **ANY_SCOPE,
)
def list_jobs(body: Annotated[JobListRequest, Body()], caller: CallerDep, conn: ConnDep) -> JobList:
    rows, next_cursor = service.list_jobs(
        conn,
        caller.key_id,
        statuses=body.statuses(),
        job_type=body.current_job_type(),
        limit=body.limit,
        cursor=body.cursor,
        legacy_statuses=states_reported_as(list(body.status)) if body.status else None,
    )
    return JobList(
        data=[JobSummary.of(row) for row in rows],
        next_cursor=next_cursor,
        limit=body.limit,
        warnings=body.warnings,
    )


@router.post(
    "/{job_id}/retry", summary="Retry a failed job", response_model=JobSummary, **BY_JOB_TYPE
)
def retry_job(
    job_id: uuid.UUID, caller: CallerDep, conn: ConnDep, launcher: LauncherDep
) -> JobSummary:
    _require_job_scope(conn, job_id, caller)
    with conn.transaction():
        job = service.retry_job(conn, job_id, caller.key_id)
    return JobSummary.of(_start_now(conn, job, launcher))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a job that has not ended",
    response_model=JobSummary,
    **BY_JOB_TYPE,
)
def cancel_job(job_id: uuid.UUID, caller: CallerDep, conn: ConnDep) -> JobSummary:
    _require_job_scope(conn, job_id, caller)
    with conn.transaction():
        return JobSummary.of(service.cancel_job(conn, job_id, caller.key_id))


def _gated_export(
    body: service.ExportJobRequest, gate: PlanGate
) -> tuple[service.ExportJobRequest, int]:
    """The export as the caller's plan allows it (403 on a premium filter or sort, premium
    columns written empty) and the rows it will write, for the daily allowance."""
    # Imported on use: the export's SQL paging is not needed to declare the routes (cold
    # start, issue 13).
    from connectra.export.pages import count_rows

    plan = plan_export(body)
    gate.check_query(plan.query)
    redacted = gate.export_redactions(body.entity, plan.header)
    allowed = body.model_copy(update={"redacted_columns": redacted})
    return allowed, count_rows(plan.query)


def _charge(conn: Connection[Any], caller: Consumer, job: Job, export_rows: int) -> None:
    """Meter a new job: an export's rows (counted at creation), an import's object size;
    over the plan's daily allowance the job is not created (429)."""
    if job.job_type == "export":
        get_meter().charge(conn, caller, Metric.EXPORT_ROWS, export_rows)
    elif job.source_size:
        get_meter().charge(conn, caller, Metric.IMPORT_BYTES, int(job.source_size))


def _require_job_scope(conn: Connection[Any], job_id: uuid.UUID, caller: Consumer) -> None:
    """Retrying or cancelling needs the scope of the job's type (an unknown job is left to
    the service's 404)."""
    with conn.transaction():  # ends here: the route's own transaction must be a real one
        job = repository.get_job(conn, job_id, owner_key_id=caller.key_id)
    if job is not None:
        caller.require(JOB_SCOPES.get(job.job_type, Scope.WRITE))
