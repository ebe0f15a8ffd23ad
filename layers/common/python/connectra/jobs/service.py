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
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field

from connectra.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from connectra.export.request import ExportRequest, plan_export
from connectra.ingest.mapping import check_mapping
from connectra.ingest.start import parse_upload_key
from connectra.jobs import lifecycle
from connectra.jobs.repository import JobStatus, get_job
from connectra.jobs.staged import owner_tag, parse_staged_key
from connectra.models.fields import Entity
from connectra.settings import get_settings
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
    existing: dict[str, Any] | None  # the job already importing this upload


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
    if existing is not None and existing["owner_key_id"] != owner_key_id:
        raise NotFound(f"object {body.s3_key} not found")
    if existing is not None and existing["entity"] != body.entity.value:
        raise Conflict(f"{body.s3_key} is imported as {existing['entity']} by job {job_id}")
    if existing is not None:
        return ImportSource(None, existing["uuid"], existing)
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
) -> tuple[dict[str, Any], bool]:
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
        target = _import_source(body, owner_key_id, conn)
        if target.existing is not None:
            return target.existing, False
        info, job_id = target.info, target.job_id
        assert info is not None
        source = {"bucket": info.bucket, "key": info.key, "etag": info.etag, "size": info.size}
        data = {"filename": body.s3_key.rsplit("/", 1)[-1]}
        if body.chunk_size:
            data["chunk_size"] = body.chunk_size
        data.update(check_mapping(body.entity, body.mapping, body.preset))
    cursor = conn.cursor(row_factory=dict_row)
    try:
        created = cursor.execute(
            "INSERT INTO jobs (uuid, job_type, entity, status, owner_key_id, idempotency_key, "
            "request_hash, source_bucket, source_key, source_etag, source_size, data, "
            "max_retries, retry_interval) "
            "VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
            "DO NOTHING RETURNING *",
            (
                job_id,
                body.job_type,
                body.entity.value,
                owner_key_id,
                idempotency_key,
                digest,
                source["bucket"],
                source["key"],
                source["etag"],
                source["size"],
                Jsonb(data),
                settings.job_max_retries,
                settings.job_retry_interval_seconds,
            ),
        ).fetchone()
    except errors.UniqueViolation:  # two creates for one staged upload raced: one won
        raise Conflict(f"job {job_id} is being created by another request") from None
    if created is not None:
        return created, True
    existing = cursor.execute(
        "SELECT * FROM jobs WHERE owner_key_id = %s AND idempotency_key = %s",
        (owner_key_id, idempotency_key),
    ).fetchone()
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish (no deletes)
        raise Conflict("idempotency key in use; try again")
    if existing["request_hash"] != digest:
        raise Conflict(
            "this Idempotency-Key was used with a different request body",
            {"job_id": str(existing["uuid"])},
        )
    return existing, False


# -- listing --------------------------------------------------------------------------------


def _encode_cursor(row: dict[str, Any]) -> str:
    raw = f"{row['created_at'].isoformat()}|{row['uuid']}".encode()
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
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's jobs, newest first, keyset-paged; and the cursor of the next page.

    With `legacy_statuses`, jobs created in the original's form match by those states
    instead (the states they are reported as, see jobs/legacy.py)."""
    conditions = ["owner_key_id = %s"]
    params: list[Any] = [owner_key_id]
    if statuses and legacy_statuses is not None:
        conditions.append(
            "((legacy_request IS NULL AND status = ANY(%s)) "
            "OR (legacy_request IS NOT NULL AND status = ANY(%s)))"
        )
        params.extend([[status.value for status in statuses], legacy_statuses])
    elif statuses:
        conditions.append("status = ANY(%s)")
        params.append([status.value for status in statuses])
    if job_type:
        conditions.append("job_type = %s")
        params.append(job_type)
    if cursor:
        created_at, job_id = _decode_cursor(cursor)
        conditions.append("(created_at, uuid) < (%s, %s)")
        params.extend([created_at, job_id])
    params.append(limit + 1)
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT * FROM jobs WHERE {' AND '.join(conditions)} "
            "ORDER BY created_at DESC, uuid DESC LIMIT %s",
            params,
        )
        .fetchall()
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# -- operator actions -----------------------------------------------------------------------


def _refused(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str, action: str) -> Exception:
    job = get_job(conn, job_id, owner_key_id=owner_key_id)
    if job is None:
        return NotFound(f"job {job_id} not found")
    return Conflict(f"job {job_id} is {job['status']}: it cannot be {action}")


def retry_job(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str) -> dict[str, Any]:
    row = lifecycle.request_retry(conn, job_id, owner_key_id=owner_key_id)
    if row is None:
        raise _refused(conn, job_id, owner_key_id, "retried (only a failed job can)")
    return row


def cancel_job(conn: Connection[Any], job_id: uuid.UUID, owner_key_id: str) -> dict[str, Any]:
    row = lifecycle.cancel(conn, job_id, owner_key_id=owner_key_id)
    if row is None:
        raise _refused(conn, job_id, owner_key_id, "cancelled (it has ended)")
    return row
