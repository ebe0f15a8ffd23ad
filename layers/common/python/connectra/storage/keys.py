"""Every object-key format of the data bucket, for the writers, the readers and the CDK grants.

One bucket, four prefixes; each prefix carries its own lifecycle rule and IAM scope
(infra/constants.py imports the prefixes from here):

    uploads/{entity}/{job_id}/{filename}                   presigned upload → one import job
    uploads/staged/{owner}/{upload_id}/{filename}          uploaded before its job (below)
    manifests/{job_id}/{ranges|chunks|retry-{n}}.json      Step Functions map manifests
    reports/{job_id}/errors.csv                            an import's row errors
    exports/{job_id}/{entity}.{csv|ndjson}[.gz]            an export (parts under parts/)

The upload, report and export prefixes are settings (UPLOAD_PREFIX, …) whose defaults are
the constants below; manifests are internal and always under `manifests/`.

Staged uploads: a file uploaded before its import job exists (the original's flow). The
original's clients ask for an upload URL with a file name only, upload, then create an
`insert_csv_file` job. Such a file goes to `{uploads}/staged/{owner}/{upload_id}/{name}`:
the S3 event of that prefix starts nothing (a staged key is not an import key), and the
job create starts the import, with `upload_id` as the job id, so creating it twice
returns the one job. `owner` is a digest of the caller's key id: another caller's staged
file is as invisible as a missing one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from connectra.models.fields import Entity

UPLOADS_PREFIX = "uploads"
EXPORTS_PREFIX = "exports"
REPORTS_PREFIX = "reports"
MANIFESTS_PREFIX = "manifests"
BUCKET_PREFIXES = (UPLOADS_PREFIX, EXPORTS_PREFIX, REPORTS_PREFIX, MANIFESTS_PREFIX)

STAGED_SEGMENT = "staged"


# -- uploads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadKey:
    entity: Entity
    job_id: uuid.UUID
    filename: str


def upload_key(prefix: str, entity: Entity, job_id: uuid.UUID, filename: str) -> str:
    return f"{prefix}/{entity.value}/{job_id}/{filename}"


def parse_upload_key(key: str, prefix: str) -> UploadKey | str:
    """`uploads/contacts/<uuid>/file.csv` → UploadKey, else the reason it is refused."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != prefix:
        return f"not an upload key ({prefix}/{{entity}}/{{job_id}}/{{filename}})"
    _, entity, job_id, filename = parts
    if entity not in {item.value for item in Entity}:
        return f"unknown entity {entity!r}"
    try:
        parsed_id = uuid.UUID(job_id)
    except ValueError:
        return f"not a job id: {job_id!r}"
    if not filename:
        return "no filename"
    return UploadKey(Entity(entity), parsed_id, filename)


@dataclass(frozen=True)
class StagedKey:
    owner_tag: str
    upload_id: uuid.UUID
    filename: str


def owner_tag(key_id: str) -> str:
    return hashlib.sha256(key_id.encode()).hexdigest()[:16]


def staged_key(prefix: str, key_id: str, upload_id: uuid.UUID, filename: str) -> str:
    return f"{prefix}/{STAGED_SEGMENT}/{owner_tag(key_id)}/{upload_id}/{filename}"


def parse_staged_key(key: str, prefix: str) -> StagedKey | None:
    """The parts of a staged key, or None when `key` is not one."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != prefix or parts[1] != STAGED_SEGMENT or not parts[4]:
        return None
    try:
        upload_id = uuid.UUID(parts[3])
    except ValueError:
        return None
    return StagedKey(parts[2], upload_id, parts[4])


def is_staged(key: str, prefix: str) -> bool:
    return key.startswith(f"{prefix}/{STAGED_SEGMENT}/")


# -- manifests, reports, exports ---------------------------------------------------------------


def manifest_key(job_id: uuid.UUID, name: str) -> str:
    """`ranges` (plan → count map), `chunks` (boundaries → load map), `retry-{n}`."""
    return f"{MANIFESTS_PREFIX}/{job_id}/{name}.json"


def chunks_manifest_key(job_id: uuid.UUID) -> str:
    return manifest_key(job_id, "chunks")


def retry_manifest_key(job_id: uuid.UUID, attempt: int) -> str:
    """The chunks a retried import re-runs (only those not done)."""
    return manifest_key(job_id, f"retry-{attempt}")


def report_key(prefix: str, job_id: uuid.UUID) -> str:
    return f"{prefix}/{job_id}/errors.csv"


def export_key(prefix: str, job_id: uuid.UUID, entity: Entity, suffix: str) -> str:
    """`suffix`: the format's extension, `.gz` included when compressed."""
    return f"{prefix}/{job_id}/{entity.value}.{suffix}"


def export_part_key(prefix: str, job_id: uuid.UUID, index: int) -> str:
    return f"{prefix}/{job_id}/parts/{index:05d}"
