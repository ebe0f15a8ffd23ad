"""Start: an S3 "Object Created" event under `uploads/` becomes one job and one execution.

S3 notifications are at-least-once and EventBridge does not order them. The job id comes
from the key (`uploads/{entity}/{job_id}/{filename}`), the job row is created with
`INSERT … ON CONFLICT DO NOTHING`, and the object identity (bucket, key, etag) is
recorded once: a replay of the same object finds the job already attached and only
re-asks for the execution, whose name is the job id, so it starts at most once (an
"already exists" answer is success). An event for another object under an attached job
id (an overwrite) is rejected: one upload URL, one job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from connectra.consumers.metering import record_uploaded_bytes
from connectra.db.pool import connection
from connectra.ingest.events import PlanInput
from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from connectra.jobs.models import Job
from connectra.observability import bind_job, logger
from connectra.orchestration.launchers import JobLauncher
from connectra.settings import get_settings
from connectra.storage.keys import UploadKey, is_staged, parse_upload_key


@dataclass(frozen=True)
class StartOutcome:
    accepted: bool
    reason: str
    job_id: uuid.UUID | None = None
    started: bool = False


def handle_object_created(
    event: S3EventNotificationEventBridgeModel, launcher: JobLauncher
) -> StartOutcome:
    settings = get_settings()
    bucket, item = event.detail.bucket.name, event.detail.object
    if is_staged(item.key, settings.upload_prefix):
        # Uploaded without an entity: its job create starts the import (storage/keys.py).
        logger.info("staged upload: waits for its job", extra={"key": item.key})
        return StartOutcome(False, "staged")
    parsed = parse_upload_key(item.key, settings.upload_prefix)
    if isinstance(parsed, str):
        logger.warning("upload event rejected", extra={"key": item.key, "reason": parsed})
        return StartOutcome(False, parsed)
    bind_job(parsed.job_id)
    etag = item.etag or item.version_id or ""
    size = int(item.size) if item.size is not None else None
    job = _attach_upload(parsed, bucket, item.key, etag, size)
    reason = _refusal(job, parsed, bucket, item.key, etag)
    if reason:
        logger.warning(
            "upload event rejected",
            extra={"key": item.key, "reason": reason},
        )
        return StartOutcome(False, reason, parsed.job_id)
    if job.status == jobs.JobStatus.FAILED and not job.started_at:
        logger.warning("upload refused", extra={"reason": job.error})
        return StartOutcome(False, str(job.error), parsed.job_id)
    if job.status != jobs.JobStatus.IN_QUEUE:
        logger.info(
            "upload event replayed: job already running",
            extra={"status": job.status},
        )
        return StartOutcome(True, "replay", parsed.job_id)
    started = launcher.start_import(PlanInput(job_id=parsed.job_id, bucket=bucket, key=item.key), 0)
    logger.info(
        "import started" if started else "import execution already exists",
        extra={"key": item.key, "entity": parsed.entity.value},
    )
    return StartOutcome(True, "started" if started else "replay", parsed.job_id, started)


def _attach_upload(parsed: UploadKey, bucket: str, key: str, etag: str, size: int | None) -> Job:
    """The upload's job, created if the event came first, with this object attached once
    (in_queue); an object over the size limit fails it for good. A replay changes nothing."""
    settings = get_settings()
    with connection() as conn:
        jobs.create_import_job(
            conn,
            parsed.job_id,
            entity=parsed.entity.value,
            owner_key_id=jobs.SYSTEM_OWNER,
            status=jobs.JobStatus.AWAITING_UPLOAD,
            source_bucket=bucket,
            source_key=key,
            data={"filename": parsed.filename},
        )
        attached = jobs.attach_source(
            conn, parsed.job_id, bucket=bucket, key=key, etag=etag, size=size
        )
        if attached and size is not None and size > settings.upload_max_bytes:
            # A presigned PUT cannot bound the size: the limit is enforced here.
            lifecycle.fail_for_good(
                conn,
                parsed.job_id,
                f"the file is {size} bytes; imports take at most {settings.upload_max_bytes}",
            )
        job = jobs.get_job(conn, parsed.job_id)
        if attached and job is not None and size:  # once per upload: replays attach nothing
            record_uploaded_bytes(conn, job.data, size)
    assert job is not None  # created above if it did not exist
    return job


def _refusal(job: Job, parsed: UploadKey, bucket: str, key: str, etag: str) -> str:
    if job.entity != parsed.entity:
        return f"job {parsed.job_id} imports {job.entity}, not {parsed.entity.value}"
    if job.source_key != key or (job.source_bucket or bucket) != bucket:
        return f"job {parsed.job_id} expects the object {job.source_key}"
    if job.status == jobs.JobStatus.AWAITING_UPLOAD:
        return f"job {parsed.job_id} is still awaiting its upload"
    if job.source_etag != etag:
        return f"job {parsed.job_id} already imports another version of {key}"
    return ""
