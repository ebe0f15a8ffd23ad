"""`GET /common/upload-url`: a presigned POST straight to S3 and the job it will become."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from connectra.api.deps import CallerDep, ConnDep, SettingsDep, get_meter, requires
from connectra.consumers.access import Scope
from connectra.consumers.plans import Metric
from connectra.errors import RateLimited, ValidationFailed
from connectra.jobs import repository as jobs
from connectra.models.fields import Entity
from connectra.storage.s3 import get_store

router = APIRouter(prefix="/common", tags=["imports"])

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME = 200
MIN_CHUNK_BYTES = 1024 * 1024
CONTENT_TYPES = {".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}


class UploadUrl(BaseModel):
    url: str
    fields: dict[str, str]
    key: str
    job_id: uuid.UUID
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
    summary="Presigned POST for a CSV or NDJSON import",
    response_model=UploadUrl,
    **requires(Scope.WRITE),
)
def upload_url(
    caller: CallerDep,
    conn: ConnDep,
    settings: SettingsDep,
    filename: Annotated[str, Query(min_length=1, max_length=1000)],
    entity: Entity,
    chunk_size: Annotated[int | None, Query(ge=MIN_CHUNK_BYTES)] = None,
) -> UploadUrl:
    name = safe_filename(filename)
    max_bytes = _upload_allowance(conn, caller, settings.upload_max_bytes)
    job_id = uuid.uuid4()
    key = f"{settings.upload_prefix}/{entity.value}/{job_id}/{name}"
    post = get_store().presigned_post(
        settings.s3_bucket,
        key,
        content_type_of(name),
        max_bytes,
        settings.upload_url_expiry_seconds,
    )
    data: dict[str, object] = {"filename": name, "consumer": caller.name}
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
    return UploadUrl(
        url=post.url,
        fields=post.fields,
        key=post.key,
        job_id=job_id,
        expires_at=post.expires_at,
        max_bytes=post.max_bytes,
    )


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
