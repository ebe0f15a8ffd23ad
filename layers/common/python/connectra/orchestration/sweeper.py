"""The jobs sweeper (EventBridge schedule in AWS, a loop locally). Each run:

1. fails running jobs whose heartbeat stopped (`retry_in_queue` while retries remain), and
   their chunks that were left `running`, so a retry re-runs them. A killed worker's job
   is thus picked up within JOB_HEARTBEAT_TIMEOUT_SECONDS (300) + one sweeper period, and
   relaunched when its back-off (JOB_RETRY_INTERVAL_SECONDS × 2^retry, 30 s first) ends;
2. moves jobs left `failed` with retries remaining by an older version (before failures
   with retries left became `retry_in_queue`) to retry_in_queue;
3. launches queued work: new `open` jobs, and retry_in_queue jobs whose back-off has
   passed — an import re-runs only its chunks that are not done, an export re-runs whole;
4. drains the search outbox into OpenSearch (SEARCH_BACKEND=opensearch).

Two sweepers may run at once: every selection locks its rows with FOR UPDATE SKIP LOCKED,
and every change is a guarded transition, so a job is handled by one sweeper; a launch is
claimed (a guarded UPDATE, committed) before it starts, so it starts once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from connectra.db.pool import connection
from connectra.ingest.events import ChunkItem, PlanInput
from connectra.jobs import lifecycle
from connectra.jobs import repository as jobs
from connectra.jobs.models import ChunkStatus, Job, JobStatus
from connectra.observability import logger
from connectra.orchestration.launchers import JobLauncher
from connectra.search.indexing import drain_outbox, indexer_from_settings
from connectra.settings import Settings, get_settings
from connectra.storage.keys import chunks_manifest_key
from connectra.storage.s3 import get_store

STALLED_ERROR = "the job's heartbeat stopped (worker lost); it will be retried"


@dataclass
class SweepReport:
    stalled: list[str] = field(default_factory=list)
    retries_scheduled: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    outbox_removed: int = 0


def mark_stalled(settings: Settings) -> list[uuid.UUID]:
    with connection() as conn:
        stalled: list[uuid.UUID] = []
        limit = settings.sweeper_batch_size
        for job_id in jobs.lock_stalled(conn, settings.job_heartbeat_timeout_seconds, limit):
            jobs.fail_abandoned_chunks(conn, job_id, STALLED_ERROR)
            if lifecycle.fail(conn, job_id, STALLED_ERROR) is not None:
                stalled.append(job_id)
    return stalled


def schedule_due_retries(settings: Settings) -> list[uuid.UUID]:
    with connection() as conn:
        due = lifecycle.lock_due_retries(conn, settings.sweeper_batch_size)
        return [job_id for job_id in due if lifecycle.schedule_due_retry(conn, job_id)]


def _claim_launches(settings: Settings, only: uuid.UUID | None = None) -> list[Job]:
    """The open and retry_in_queue jobs this sweeper launches (or just `only`), claimed
    and committed.

    open → in_queue is the claim of a new job. A queued retry is claimed by recording the
    attempt it launches (`response.launched_attempt`), and an import's by retry_in_queue →
    retrying too (its chunk steps do not know about job states; an export's runner makes
    that transition itself when it starts)."""
    claimed: list[Job] = []
    with connection() as conn:
        for job_id in jobs.lock_launchable(conn, only, settings.sweeper_batch_size):
            job = lifecycle.enqueue(conn, job_id)
            if job is None:
                job = jobs.record_launched_attempt(conn, job_id)
                if job is not None and job.job_type == "import":
                    job = lifecycle.claim_retry(conn, job_id)
            if job is not None:
                claimed.append(job)
    return claimed


def _failed_chunks(job: Job) -> list[ChunkItem] | None:
    """The chunks of the manifest that are not done; None when the job has no manifest."""
    with connection() as conn:
        statuses = jobs.chunk_statuses(conn, job.uuid)
    if not statuses:
        return None
    not_done = {index for index, status in statuses.items() if status != ChunkStatus.DONE}
    manifest = get_store().get_json(get_settings().s3_bucket, chunks_manifest_key(job.uuid))
    return [
        item
        for item in (ChunkItem.model_validate(entry) for entry in manifest)
        if item.chunk_index in not_done
    ]


def launch(job: Job, launcher: JobLauncher) -> None:
    attempt = job.retry_count if job.status != JobStatus.IN_QUEUE else 0
    if job.job_type == "export":
        launcher.start_export(job.uuid, attempt)
        return
    assert job.source_bucket is not None and job.source_key is not None  # an import's
    plan_input = PlanInput(job_id=job.uuid, bucket=job.source_bucket, key=job.source_key)
    chunks = _failed_chunks(job) if job.status == JobStatus.RETRYING else None
    if chunks is None:
        launcher.start_import(plan_input, attempt)
    else:
        logger.info(
            "retrying chunks",
            extra={"job_id": str(job.uuid), "chunks": [c.chunk_index for c in chunks]},
        )
        launcher.retry_chunks(plan_input, chunks, attempt)


def launch_queued(
    settings: Settings, launcher: JobLauncher, only: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Claim and launch the queued jobs (or just `only`); a failed launch fails its job."""
    launched: list[uuid.UUID] = []
    for job in _claim_launches(settings, only):
        try:
            launch(job, launcher)
            launched.append(job.uuid)
        except Exception as exc:
            logger.exception("launch failed", extra={"job_id": str(job.uuid)})
            with connection() as conn:
                lifecycle.fail(
                    conn,
                    job.uuid,
                    f"could not start: {type(exc).__name__}: {exc}",
                    relaunch=True,
                )
    return launched


def launch_now(job_id: uuid.UUID, launcher: JobLauncher) -> bool:
    """Launch one job just created or queued for retry, without waiting for the sweeper.

    The claim is the sweeper's, so a job starts once whoever gets to it first; a job this
    call cannot claim (already taken) is left alone. True when this call launched it.
    """
    return bool(launch_queued(get_settings(), launcher, only=job_id))


def drain_search_outbox(settings: Settings) -> int:
    if settings.search_backend != "opensearch":
        return 0  # the PostgreSQL engine reads the tables: nothing to index
    with connection() as conn:
        conn.commit()  # drain_outbox runs its own transactions
        return drain_outbox(conn, indexer_from_settings(settings)).removed


def sweep(launcher: JobLauncher, settings: Settings | None = None) -> SweepReport:
    settings = settings or get_settings()
    report = SweepReport()
    report.stalled = [str(job_id) for job_id in mark_stalled(settings)]
    report.retries_scheduled = [str(job_id) for job_id in schedule_due_retries(settings)]
    report.launched = [str(job_id) for job_id in launch_queued(settings, launcher)]
    try:
        report.outbox_removed = drain_search_outbox(settings)
    except Exception:  # the index may be down: the outbox keeps everything for next time
        logger.exception("outbox drain failed")
    logger.info("sweep done", extra=report.__dict__)
    return report
