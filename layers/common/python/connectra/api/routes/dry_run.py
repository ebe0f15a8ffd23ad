"""`POST /common/imports/dry-run`: what importing an uploaded file would do, writing nothing.

The file is one the caller uploaded (an upload URL's `key`, with or without entity). It
is read from the start, mapped, normalized and validated as its import would be
(ingest/dry_run.py), up to `max_rows` rows: the answer has the mapping used, a few mapped
sample rows, the row errors with their line numbers and the counts, split into the
records an import would insert and update by a lookup of their keys in a READ ONLY
transaction (ingest/existing.py): nothing is written. A request runs
within the API's time limit, hence the row bound; `connectra import FILE --dry-run`
reads a whole local file.
"""

# Annotations are evaluated here, not postponed (no `from __future__ import annotations`):
# FastAPI reads the signature of each endpoint and dependency for every route using it
# and would evaluate each string annotation anew every time (cold start, issue 13).

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from connectra.api.deps import CallerDep, ConnDep, SettingsDep, requires
from connectra.consumers.access import Scope
from connectra.errors import NotFound, ValidationFailed
from connectra.jobs import repository as jobs
from connectra.models.fields import Entity
from connectra.storage.keys import owner_tag, parse_staged_key, parse_upload_key
from connectra.storage.s3 import get_store

router = APIRouter(prefix="/common/imports", tags=["imports"])

MAX_DRY_RUN_ROWS = 100_000
SNIFF_BYTES = 64 * 1024


class DryRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Entity
    s3_key: str = Field(min_length=1, max_length=1024, description="The upload URL's `key`")
    mapping: dict[str, str | None] | None = None
    preset: str | None = Field(default=None, max_length=100)
    max_rows: int = Field(default=10_000, ge=1, le=MAX_DRY_RUN_ROWS)


class DryRunResponse(BaseModel):
    entity: str
    file_format: str
    mapping: dict[str, str | None]
    notices: dict[str, str]
    samples: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    counts: dict[str, int | None]
    truncated: bool
    existing_checked: bool


def _require_own_upload(conn: ConnDep, caller: CallerDep, key: str, prefix: str) -> None:
    """Only the caller's own uploads: another caller's file is as invisible as none."""
    staged = parse_staged_key(key, prefix)
    if staged is not None:
        if staged.owner_tag != owner_tag(caller.key_id):
            raise NotFound(f"object {key} not found")
        return
    parsed = parse_upload_key(key, prefix)
    job = None if isinstance(parsed, str) else jobs.get_job(conn, parsed.job_id)
    if job is None or job.owner_key_id != caller.key_id:
        raise NotFound(f"object {key} not found")


@router.post(
    "/dry-run",
    summary="Parse an uploaded file as its import would, write nothing, report",
    response_model=DryRunResponse,
    **requires(Scope.WRITE),
)
def dry_run_upload(
    body: DryRunRequest, caller: CallerDep, conn: ConnDep, settings: SettingsDep
) -> DryRunResponse:
    # Imported on use: the dry run and the CSV parser behind it (ingest.parse, splitter,
    # presets) are not needed to declare the routes (cold start, issue 13).
    from connectra.ingest.dry_run import DryRunRefused, count_existing, dry_run
    from connectra.ingest.mapping import check_mapping
    from connectra.ingest.parse import detect_format

    data = check_mapping(body.entity, body.mapping, body.preset)
    _require_own_upload(conn, caller, body.s3_key, settings.upload_prefix)
    store = get_store()
    try:
        info = store.head(settings.s3_bucket, body.s3_key)
    except Exception as exc:
        raise NotFound(f"object {body.s3_key} not found") from exc
    sniff = b"".join(
        store.iter_range(settings.s3_bucket, body.s3_key, 0, min(info.size, SNIFF_BYTES))
    )
    pieces = store.iter_range(settings.s3_bucket, body.s3_key, 0, info.size, if_match=info.etag)
    try:
        report = dry_run(
            body.entity, pieces, info.size, detect_format(body.s3_key, sniff), data, body.max_rows
        )
    except DryRunRefused as exc:
        raise ValidationFailed(
            f"s3_key: {exc}", [{"path": "s3_key", "message": str(exc), "type": "value_error"}]
        ) from None
    count_existing(conn, report)
    return DryRunResponse(**report.as_dict())
