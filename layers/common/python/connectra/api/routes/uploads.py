"""`GET /common/upload-url`: a presigned POST (and PUT) straight to S3 and the job it becomes.

With `entity`, the upload itself starts the import (job `awaiting_upload` until the file
arrives). Without it (the original's two-step flow) the file is staged: nothing starts
until `POST /common/jobs/create` names it, and `job_id` is the id that job will get.
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from psycopg import Connection
from pydantic import BaseModel, Field

from connectra.api.deps import CallerDep, ConnDep, SettingsDep, get_meter, requires
from connectra.consumers.access import Consumer, Scope
from connectra.consumers.plans import Metric
from connectra.errors import RateLimited, ValidationFailed
from connectra.jobs import repository as jobs
from connectra.models.fields import Entity
from connectra.settings import get_settings
from connectra.storage.keys import staged_key, upload_key
from connectra.storage.s3 import get_store

router = APIRouter(prefix="/common", tags=["imports"])

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME = 200
MIN_CHUNK_BYTES = 1024 * 1024
CONTENT_TYPES = {".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}


class UploadUrl(BaseModel):
    url: str = Field(description="POST a form with `fields` and the file here")
    fields: dict[str, str]
    put_url: str = Field(
        description="Or PUT the file body here, with the same Content-Type (size checked at "
        "job start)"
    )
    content_type: str
    key: str = Field(description="The object key: the `s3_key` of a staged upload's job")
    job_id: uuid.UUID
    staged: bool = Field(description="True without `entity`: create the job to import it")
    expires_at: datetime
    max_bytes: int


def safe_filename(filename: str) -> str:
    """`../My Contacts (1).CSV` → `My_Contacts_1_.CSV`: one path segment, portable characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")[:MAX_FILENAME]
    if not cleaned:
        raise ValidationFailed("filename: give a file name such as contacts.csv")
    return cleaned


def content_type_of(filename: str) -> str:
    lowered = filename.lower()
    for suffix, content_type in CONTENT_TYPES.items():
        if lowered.endswith(suffix):
            return content_type
    return "text/csv"


@router.get(
    "/upload-url",
    summary="Presigned POST and PUT for a CSV or NDJSON import (staged without `entity`)",
    response_model=UploadUrl,
    **requires(Scope.WRITE),
)
def upload_url(
    caller: CallerDep,
    conn: ConnDep,
    settings: SettingsDep,
    filename: Annotated[str, Query(min_length=1, max_length=1000)],
    entity: Entity | None = None,
    chunk_size: Annotated[int | None, Query(ge=MIN_CHUNK_BYTES)] = None,
    preset: Annotated[str | None, Query(max_length=100)] = None,
    mapping: Annotated[
        str | None,
        Query(max_length=64_000, description="JSON object: column → field (see jobs/create)"),
    ] = None,
) -> UploadUrl:
    name = safe_filename(filename)
    columns = _columns_of(entity, preset, mapping)
    max_bytes = _upload_allowance(conn, caller, settings.upload_max_bytes)
    job_id = uuid.uuid4()
    if entity is None:
        key = staged_key(settings.upload_prefix, caller.key_id, job_id, name)
    else:
        key = upload_key(settings.upload_prefix, entity, job_id, name)
    content_type = content_type_of(name)
    store = get_store()
    expiry = settings.upload_url_expiry_seconds
    post = store.presigned_post(settings.s3_bucket, key, content_type, max_bytes, expiry)
    put_url = store.presigned_put(settings.s3_bucket, key, content_type, expiry)
    if entity is not None:
        _expect_upload(conn, caller, job_id, entity, key, name, chunk_size, columns)
    return UploadUrl(
        url=post.url,
        fields=post.fields,
        put_url=put_url,
        content_type=content_type,
        key=post.key,
        job_id=job_id,
        staged=entity is None,
        expires_at=post.expires_at,
        max_bytes=post.max_bytes,
    )


def _expect_upload(
    conn: Connection[Any],
    caller: Consumer,
    job_id: uuid.UUID,
    entity: Entity,
    key: str,
    filename: str,
    chunk_size: int | None,
    columns: dict[str, Any],
) -> None:
    """The job row the upload's S3 event will start (`awaiting_upload` until then)."""
    settings = get_settings()
    data: dict[str, object] = {"filename": filename, "consumer": caller.name, **columns}
    if chunk_size:
        data["chunk_size"] = chunk_size
    with conn.transaction():
        jobs.create_import_job(
            conn,
            job_id,
            entity=entity.value,
            owner_key_id=caller.key_id,
            status=jobs.JobStatus.AWAITING_UPLOAD,
            source_bucket=settings.s3_bucket,
            source_key=key,
            data=data,
        )


def _columns_of(entity: Entity | None, preset: str | None, mapping: str | None) -> dict[str, Any]:
    """The job data of a column mapping sent as query parameters (checked now: a 400)."""
    if preset is None and mapping is None:
        return {}
    if entity is None:
        raise ValidationFailed(
            "entity: a mapping or preset needs the entity (or give it to jobs/create)"
        )
    try:
        parsed = json.loads(mapping) if mapping is not None else None
    except ValueError:
        raise ValidationFailed("mapping: not valid JSON") from None
    if parsed is not None and (
        not isinstance(parsed, dict)
        or not all(isinstance(value, str | None) for value in parsed.values())
    ):
        raise ValidationFailed("mapping: a JSON object of column → field name (or null)")
    # Imported on use: the CSV parser behind the mapping check (ingest.parse, splitter,
    # presets) is not needed to declare the routes (cold start, issue 13).
    from connectra.ingest.mapping import check_mapping

    return check_mapping(entity, parsed, preset)


def _upload_allowance(conn: ConnDep, caller: CallerDep, upload_max_bytes: int) -> int:
    """The upload's size limit: the plan's import bytes left today, at most the global
    limit; none left is a 429 naming `import_bytes` (the bytes count when they arrive)."""
    meter = get_meter()
    with conn.transaction():  # ends here: the job is created in a transaction of its own
        remaining = meter.remaining(conn, caller, Metric.IMPORT_BYTES)
    if remaining is None:
        return upload_max_bytes
    if remaining <= 0:
        retry_after = meter.seconds_to_midnight()
        raise RateLimited(
            f"the {caller.plan.name} plan's import bytes for today are used up",
            {
                "level": Metric.IMPORT_BYTES.value,
                "limit": caller.plan.import_bytes_per_day,
                "retry_after_seconds": retry_after,
                "headers": {"Retry-After": str(retry_after)},
            },
        )
    return min(upload_max_bytes, remaining)
