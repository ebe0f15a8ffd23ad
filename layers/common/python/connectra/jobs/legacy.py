"""The original's job API: `insert_csv_file` / `export_csv_file` with a `data` payload, its
status names, and its job shape (`uuid`, `data`, `job_response.runtime_errors`, …).

A job created in that form is translated to today's request (one implementation runs it)
and remembers its original request (`jobs.legacy_request`), so every read of it answers
in the original's shape and statuses. Jobs created in today's form are never reshaped.

Status mapping, for pollers written against the original (which knew only `completed`
and `failed` as ends):

    awaiting_upload → open                 completed_with_errors → completed
    retry_in_queue  → retry_in_queued      cancelled             → failed
    any other ended state → failed (completed… → completed); any other → processing

the row errors of a `completed_with_errors` job are in `job_response.runtime_errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from connectra.errors import ValidationFailed
from connectra.jobs.models import FINISHED_STATUSES, Job, JobStatus
from connectra.models.fields import Entity
from connectra.models.json_safe import storable_json
from connectra.vql.parse import error_path

LEGACY_TYPES = {"insert_csv_file": "import", "export_csv_file": "export"}
CURRENT_TO_LEGACY_TYPE = {current: legacy for legacy, current in LEGACY_TYPES.items()}

_STATUS_TO_LEGACY = {
    JobStatus.AWAITING_UPLOAD: "open",
    JobStatus.OPEN: "open",
    JobStatus.IN_QUEUE: "in_queue",
    JobStatus.PROCESSING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.COMPLETED_WITH_ERRORS: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.RETRY_IN_QUEUE: "retry_in_queued",
    JobStatus.RETRYING: "retrying",
    JobStatus.CANCELLED: "failed",
}
# Status names a client may filter by: the original's spelling → today's states.
LEGACY_STATUS_FILTER = {"retry_in_queued": [JobStatus.RETRY_IN_QUEUE]}

# Keys of the original's `data` accepted for each value (first present wins).
KEY_ALIASES = ("s3_key", "key", "file_key", "file_path")
ENTITY_ALIASES = ("entity", "service")
VQL_KEYS = ("where", "order_by", "select_columns", "company_config")
MAX_RUNTIME_ERRORS = 100


def legacy_status(status: str) -> str:
    try:
        known = JobStatus(status)
    except ValueError:  # a state added after this mapping was written
        if status in FINISHED_STATUSES:
            return "completed" if status.startswith("completed") else "failed"
        return "processing"
    return _STATUS_TO_LEGACY[known]


def states_reported_as(names: list[str]) -> list[str]:
    """Today's states a job created in the original's form shows as one of `names`
    (a filter on "completed" finds its completed_with_errors jobs too)."""
    return [state.value for state, legacy in _STATUS_TO_LEGACY.items() if legacy in names]


class LegacyJobRequest(BaseModel):
    """`POST /common/jobs/create` in the original's form."""

    model_config = ConfigDict(
        extra="ignore",  # the original's decoder ignored unknown keys (retry_count, …)
        json_schema_extra={
            "examples": [
                {
                    "job_type": "insert_csv_file",
                    "data": {"s3_key": "uploads/staged/…/contacts.csv", "service": "contacts"},
                }
            ]
        },
    )

    job_type: Literal["insert_csv_file", "export_csv_file"]
    data: Annotated[dict[str, Any], AfterValidator(storable_json)] = Field(
        description="insert_csv_file: s3_key (or key/file_key/file_path), service (or "
        "entity), chunk_size; export_csv_file: service, vql (or query, or the VQL keys "
        "themselves), columns, format, gzip"
    )


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((data[name] for name in names if data.get(name) is not None), None)


def _entity_of(data: dict[str, Any], key: str | None, prefix: str) -> str | None:
    named = _first(data, ENTITY_ALIASES)
    if isinstance(named, str):
        singular = {"contact": "contacts", "company": "companies"}
        return singular.get(named.lower(), named.lower())
    parts = (key or "").split("/")
    if len(parts) == 4 and parts[0] == prefix and parts[1] in {e.value for e in Entity}:
        return parts[1]  # an upload URL requested with an entity names it in the key
    return None


def current_request(legacy: LegacyJobRequest, upload_prefix: str) -> dict[str, Any]:
    """Today's `POST /common/jobs/create` body for a request in the original's form."""
    data = legacy.data
    if legacy.job_type == "insert_csv_file":
        key = _first(data, KEY_ALIASES)
        body: dict[str, Any] = {
            "job_type": "import",
            "entity": _entity_of(data, key if isinstance(key, str) else None, upload_prefix),
            "s3_key": key,
        }
        for name in ("chunk_size", "mapping", "preset"):
            if data.get(name) is not None:
                body[name] = data[name]
        return body
    vql = _first(data, ("vql", "query"))
    if vql is None:
        vql = {name: data[name] for name in VQL_KEYS if data.get(name) is not None}
    body = {"job_type": "export", "entity": _entity_of(data, None, upload_prefix), "vql": vql}
    for name in ("columns", "format", "gzip"):
        if data.get(name) is not None:
            body[name] = data[name]
    return body


def translate(legacy: LegacyJobRequest, upload_prefix: str, model: Any) -> Any:
    """Validate the translated body with today's model; errors name `data.<key>`."""
    try:
        return model.validate_python(current_request(legacy, upload_prefix))
    except ValidationError as exc:
        problems = [
            {
                "path": "data." + error_path(list(error["loc"])[1:] or ["data"]),
                "message": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors()
        ]
        raise ValidationFailed(
            f"{problems[0]['path']}: {problems[0]['message']}", problems
        ) from None


class LegacyJobResponse(BaseModel):
    runtime_errors: list[str]
    message: str
    counts: dict[str, int]
    error_report_url: str | None = None
    download_url: str | None = None
    s3_key: str | None = None


class LegacyJob(BaseModel):
    """A job in the original's shape (plus `job_id`, today's name of its id)."""

    id: str
    uuid: str
    job_id: str
    job_type: str
    data: dict[str, Any]
    status: str
    job_response: LegacyJobResponse
    retry_count: int
    retry_interval: int
    run_after: datetime | None
    created_at: datetime
    updated_at: datetime


def _message(job: Job) -> str:
    status = job.status
    if status == JobStatus.COMPLETED_WITH_ERRORS:
        return f"completed with {job.failed_rows} row errors"
    if status == JobStatus.CANCELLED:
        return "cancelled"
    return str(job.error or status)


def legacy_job(
    job: Job,
    row_errors: list[str],
    *,
    error_report_url: str | None = None,
    download_url: str | None = None,
) -> LegacyJob:
    """`job` (a jobs row created in the original's form) in the original's shape."""
    request = job.legacy_request or {}
    errors = ([job.error] if job.error else []) + row_errors
    return LegacyJob(
        id=str(job.uuid),
        uuid=str(job.uuid),
        job_id=str(job.uuid),
        job_type=request.get("job_type") or CURRENT_TO_LEGACY_TYPE[job.job_type],
        data=request.get("data") or {},
        status=legacy_status(job.status),
        job_response=LegacyJobResponse(
            runtime_errors=errors[:MAX_RUNTIME_ERRORS],
            message=_message(job),
            counts={
                "total": job.total_rows,
                "inserted": job.inserted_rows,
                "updated": job.updated_rows,
                "failed": job.failed_rows,
            },
            error_report_url=error_report_url,
            download_url=download_url,
            s3_key=(job.response or {}).get("export_key") or job.source_key,
        ),
        retry_count=job.retry_count,
        retry_interval=job.retry_interval,
        run_after=job.run_after,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )
