"""Staged uploads: a file uploaded before its import job exists (the original's flow).

The original's clients ask for an upload URL with a file name only, upload, then create
an `insert_csv_file` job. Such a file goes to `{uploads}/staged/{owner}/{upload_id}/{name}`:
the S3 event of that prefix starts nothing (a staged key is not an import key), and the
job create starts the import, with `upload_id` as the job id, so creating it twice
returns the one job. `owner` is a digest of the caller's key id: another caller's staged
file is as invisible as a missing one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

STAGED_SEGMENT = "staged"


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
