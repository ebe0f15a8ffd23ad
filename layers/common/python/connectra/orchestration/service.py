"""Job operations of the API: create (idempotent per caller), list, retry, cancel.

`Idempotency-Key`: the first request with a key creates the job and stores a hash of its
body; the same key with the same body returns that job again, with another body it is a
409. Keys are scoped per caller (unique index on (owner_key_id, idempotency_key)), and
the race of two identical first requests is settled by that index: one INSERT wins, the
other finds the winner's job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from psycopg import Connection, errors
from pydantic import BaseModel, ConfigDict, Field

from connectra.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from connectra.export.request import ExportRequest, plan_export
from connectra.jobs import lifecycle, repository
from connectra.jobs.models import Job, JobStatus
from connectra.jobs.repository import get_job
from connectra.models.fields import Entity
from connectra.settings import get_settings
from connectra.storage.keys import owner_tag, parse_staged_key, parse_upload_key
from connectra.storage.s3 import ObjectInfo, get_store

MIN_CHUNK_BYTES = 1024 * 1024
MAX_LIST_LIMIT = 100


class ImportJobRequest(BaseModel):
    """Import an object already in the bucket (under the uploads prefix)."""

    model_config = ConfigDict(extra="forbid")

    job_type: Literal["import"]
    entity: Entity
    s3_key: str = Field(min_length=1, max_length=1024)
    chunk_size: int | None = Field(default=None, ge=MIN_CHUNK_BYTES)
    mapping: dict[str, str | None] | None = Field(
        default=None,
        description="Column → field (`company_<field>` for a contact's company; null "
        "ignores the column); see docs/import-mapping.md",
        examples=[
            {"Person Linkedin Url": "linkedin_url", "# Employees": "company_employees_count"}
        ],
    )
    preset: str | None = Field(
        default=None, description="Export format of the file: apollo, zoominfo, seamless, …"
    )


class ExportJobRequest(ExportRequest):
    """Export the rows of a VQL query."""

    job_type: Literal["export"]


JobCreateRequest = Annotated[ImportJobRequest | ExportJobRequest, Field(discriminator="job_type")]


@dataclass(frozen=True)
class ImportSource:
    info: ObjectInfo | None  # the object to import (None when `existing` imports it)
    job_id: uuid.UUID  # the id of the job to create
    existing: Job | None  # the job already importing this upload


def request_hash(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _import_source(
    body: ImportJobRequest, owner_key_id: str, conn: Connection[Any]
) -> ImportSource:
    """The object to import and the job it already belongs to, if any.

    A key from an upload URL with an entity already has its job (the upload starts it):
    creating a job for it returns that job instead of importing the file twice. A staged
    key (an upload URL without entity) becomes the job whose id its key carries.
    """
    settings = get_settings()
    if not body.s3_key.startswith(settings.upload_prefix + "/"):
        raise ValidationFailed(f"s3_key: must be under {settings.upload_prefix}/")
    staged = parse_staged_key(body.s3_key, settings.upload_prefix)
    parsed = parse_upload_key(body.s3_key, settings.upload_prefix)
    job_id: uuid.UUID | None = None
    if staged is not None:
        # Another caller's staged file is as invisible as a missing one.
        if staged.owner_tag != owner_tag(owner_key_id):
            raise NotFound(f"object {body.s3_key} not found")
        job_id = staged.upload_id
    elif not isinstance(parsed, str):
        job_id = parsed.job_id
    existing = get_job(conn, job_id) if job_id is not None else None
    if existing is not None and existing.owner_key_id != owner_key_id:
        raise NotFound(f"object {body.s3_key} not found")
    if existing is not None and existing.entity != body.entity:
        raise Conflict(f"{body.s3_key} is imported as {existing.entity} by job {job_id}")
    if existing is not None:
        return ImportSource(None, existing.uuid, existing)
    try:
        info = get_store().head(settings.s3_bucket, body.s3_key)
    except Exception as exc:
        raise NotFound(f"object {body.s3_key} not found") from exc
    if info.size is not None and info.size > settings.upload_max_bytes:
        raise PayloadTooLarge(
            f"s3_key: the object is {info.size} bytes; imports take at most "
            f"{settings.upload_max_bytes}",
            {"size": info.size, "max_bytes": settings.upload_max_bytes},
        )
    return ImportSource(info, staged.upload_id if staged else uuid.uuid4(), None)


def create_job(
    conn: Connection[Any],
    body: ImportJobRequest | ExportJobRequest,
    *,
    owner_key_id: str,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """The job (created `open`, or the one this idempotency key already made) and whether
    it was created now."""
    digest = request_hash(body)
    settings = get_settings()
    source: dict[str, Any] = {"bucket": None, "key": None, "etag": None, "size": None}
    job_id = uuid.uuid4()
    if isinstance(body, ExportJobRequest):
        plan_export(body)  # a bad query or column is a 400 now, not a failed job later
        data = body.model_dump(mode="json", exclude={"job_type"})
    else:
        # Imported on use: the CSV parser behind the mapping check (ingest.parse,
        # splitter, presets) is not needed to declare the API's routes (cold start).
        from connectra.ingest.mapping import check_mapping

        # The mapping first: a bad mapping is a 400 whether or not the object exists.
        mapped = check_mapping(body.entity, body.mapping, body.preset)
        target = _import_source(body, owner_key_id, conn)
        if target.existing is not None:
            return target.existing, False
        info, job_id = target.info, target.job_id
        assert info is not None
        source = {"bucket": info.bucket, "key": info.key, "etag": info.etag, "size": info.size}
        data = {"filename": body.s3_key.rsplit("/", 1)[-1]}
        if body.chunk_size:
            data["chunk_size"] = body.chunk_size
        data.update(mapped)
    try:
        created = repository.create_job(
            conn,
            job_id,
            job_type=body.job_type,
            entity=body.entity.value,
            owner_key_id=owner_key_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
            source=source,
            data=data,
            max_retries=settings.job_max_retries,
            retry_interval=settings.job_retry_interval_seconds,
        )
    except errors.UniqueViolation:  # two creates for one staged upload raced: one won
        raise Conflict(f"job {job_id} is being created by another request") from None
    if created is not None:
        return created, True
    existing = repository.find_by_idempotency_key(conn, owner_key_id, idempotency_key)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish (no deletes)
        raise Conflict("idempotency key in use; try again")
    if existing.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was used with a different request body",
            {"job_id": str(existing.uuid)},
        )
    return existing, False


# -- listing --------------------------------------------------------------------------------


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|")
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("cursor: malformed cursor") from None


def list_jobs(
    conn: Connection[Any],
    owner_key_id: str,
    *,
    statuses: list[JobStatus] | None = None,
    job_type: str | None = None,
    limit: int = 25,
    cursor: str | None = None,
    legacy_statuses: list[str] | None = None,
) -> tuple[list[Job], str | None]:
    """The caller's jobs, newest first, keyset-paged; and the cursor of the next page.

    With `legacy_statuses`, jobs created in the original's form match by those states
    instead (the states they are reported as, see jobs/legacy.py)."""
    rows = repository.list_page(
        conn,
        owner_key_id,
        statuses=statuses,
        legacy_statuses=legacy_statuses,
        job_type=job_type,
        after=_decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# -- operator actions -----------------------------------------------------------------------


def _refused(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str, action: str) -> Exception:
    job = get_job(conn, job_id, owner_key_id=owner_key_id)
    if job is None:
        return NotFound(f"job {job_id} not found")
    return Conflict(f"job {job_id} is {job.status}: it cannot be {action}")


def retry_job(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str) -> Job:
    row = lifecycle.request_retry(conn, job_id, owner_key_id=owner_key_id)
    if row is None:
        raise _refused(conn, job_id, owner_key_id, "retried (only a failed job can)")
    return row


def cancel_job(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str) -> Job:
    row = lifecycle.cancel(conn, job_id, owner_key_id=owner_key_id)
    if row is None:
        raise _refused(conn, job_id, owner_key_id, "cancelled (it has ended)")
    return row
