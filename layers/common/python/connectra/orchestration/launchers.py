"""Starting a job's run: one protocol, an AWS adapter here (Step Functions executions) and
a local adapter in `connectra.local.launcher` (the same steps in worker processes).

A retried import re-runs ONLY its chunks that are not done. In AWS that is a new execution
of the ingest state machine whose input (`ResumeInput`) has the shape of Boundaries'
output, pointing at a manifest of just those chunks (`storage.keys.retry_manifest_key`).
The state machine's first state branches on `$.resume == "load_chunks"` straight to
LoadChunks (the Distributed Map reads `$.manifest_key`), then Finalize, which takes the
job id from `$.job_id`: a retry's execution name is `{job_id}-retry-{n}` (execution names
are unique per state machine), not the bare job id.
An import that never got a chunk manifest (it failed while planning) restarts from Plan.
Exports re-run whole: `{"job_id"}` to the export state machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final, Literal, Protocol

from connectra.ingest.events import ChunkItem, JobRef, PlanInput
from connectra.observability import logger
from connectra.settings import get_settings
from connectra.storage.keys import retry_manifest_key
from connectra.storage.s3 import ObjectStore

RESUME_LOAD_CHUNKS: Final = "load_chunks"


def execution_name(job_id: uuid.UUID, attempt: int) -> str:
    """The first run is named after the job (as the S3 start does); retries add `-retry-n`."""
    return str(job_id) if attempt == 0 else f"{job_id}-retry-{attempt}"


class ResumeInput(PlanInput):
    """The input of a retried import's execution: Boundaries' output over the chunks
    still to do, and where to resume."""

    manifest_bucket: str
    manifest_key: str
    chunk_count: int
    resume: Literal["load_chunks"] = RESUME_LOAD_CHUNKS
    retry_chunks: list[int]


class JobLauncher(Protocol):
    """Starts the run of a job: Step Functions in AWS, worker processes locally."""

    def start_import(self, plan_input: PlanInput, attempt: int) -> bool:
        """Run the whole import (plan, chunks, finalize); True when started now, False
        when this run (named by `execution_name`) already exists."""
        ...

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        """Run only these chunks of an import, then finalize it."""
        ...

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None: ...


class StepFunctionsLauncher:
    """AWS: one execution per run; a name that already exists means it is already running."""

    def __init__(
        self, client: Any, store: ObjectStore, ingest_arn: str | None, export_arn: str | None
    ) -> None:
        self.client = client
        self.store = store
        self.ingest_arn = ingest_arn
        self.export_arn = export_arn

    def configured_for(self, job_type: str) -> bool:
        """Whether the state machine that runs this kind of job is known."""
        return bool(self.export_arn if job_type == "export" else self.ingest_arn)

    def _start(self, arn: str | None, name: str, document: str) -> bool:
        if not arn:
            raise RuntimeError("the state machine ARN is not configured")
        try:
            self.client.start_execution(stateMachineArn=arn, name=name, input=document)
        except self.client.exceptions.ExecutionAlreadyExists:
            logger.info("execution already exists", extra={"execution": name})
            return False
        return True

    def start_import(self, plan_input: PlanInput, attempt: int) -> bool:
        name = execution_name(plan_input.job_id, attempt)
        return self._start(self.ingest_arn, name, plan_input.model_dump_json())

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        bucket = get_settings().s3_bucket
        key = retry_manifest_key(plan_input.job_id, attempt)
        self.store.put_json(bucket, key, [chunk.model_dump(mode="json") for chunk in chunks])
        resume = ResumeInput(
            **plan_input.model_dump(),
            manifest_bucket=bucket,
            manifest_key=key,
            chunk_count=len(chunks),
            retry_chunks=[chunk.chunk_index for chunk in chunks],
        )
        name = execution_name(plan_input.job_id, attempt)
        self._start(self.ingest_arn, name, resume.model_dump_json())

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        name = execution_name(job_id, attempt)
        self._start(self.export_arn, name, JobRef(job_id=job_id).model_dump_json())


def aws_launcher(store: ObjectStore) -> StepFunctionsLauncher:
    """The Step Functions launcher of the configured state machines."""
    import boto3  # only the AWS adapter needs it: kept out of the API's cold import

    settings = get_settings()
    client = boto3.client("stepfunctions", region_name=settings.aws_region)
    return StepFunctionsLauncher(
        client, store, settings.ingest_state_machine_arn, settings.export_state_machine_arn
    )
