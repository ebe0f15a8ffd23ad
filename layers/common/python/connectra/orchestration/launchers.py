"""Starting a job's run: Step Functions executions in AWS, the same steps in-process locally.

A retried import re-runs ONLY its chunks that are not done. In AWS that is a new execution
of the ingest state machine whose input has the shape of Boundaries' output, pointing
at a manifest of just those chunks:

    {"job_id", "bucket", "key", "manifest_bucket", "manifest_key": "manifests/{job}/retry-{n}.json",
     "chunk_count", "resume": "load_chunks", "retry_chunks": [chunk indexes]}

The state machine's first state is expected to branch on `$.resume == "load_chunks"`
straight to LoadChunks (the Distributed Map reads `$.manifest_key`), then Finalize, which
takes the job id from `$.job_id`: a retry's execution name is `{job_id}-retry-{n}`
(execution names are unique per state machine), not the bare job id.
An import that never got a chunk manifest (it failed while planning) restarts from Plan.
Exports re-run whole: `{"job_id"}` to the export state machine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, wait
from typing import Any, Protocol

import boto3

from connectra.export.job import run_export_job
from connectra.ingest.events import ChunkItem, PlanInput
from connectra.local import pipeline
from connectra.observability import logger
from connectra.settings import get_settings
from connectra.storage.keys import retry_manifest_key
from connectra.storage.s3 import ObjectStore

RESUME_LOAD_CHUNKS = "load_chunks"


def execution_name(job_id: uuid.UUID, attempt: int) -> str:
    """The first run is named after the job (as the S3 start does); retries add `-retry-n`."""
    return str(job_id) if attempt == 0 else f"{job_id}-retry-{attempt}"


class JobLauncher(Protocol):
    def start_import(self, plan_input: PlanInput, attempt: int) -> None:
        """Run the whole import (plan, chunks, finalize)."""
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

    def _start(self, arn: str | None, name: str, document: str) -> None:
        if not arn:
            raise RuntimeError("the state machine ARN is not configured")
        try:
            self.client.start_execution(stateMachineArn=arn, name=name, input=document)
        except self.client.exceptions.ExecutionAlreadyExists:
            logger.info("execution already exists", extra={"execution": name})

    def start_import(self, plan_input: PlanInput, attempt: int) -> None:
        name = execution_name(plan_input.job_id, attempt)
        self._start(self.ingest_arn, name, plan_input.model_dump_json())

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        bucket = get_settings().s3_bucket
        key = retry_manifest_key(plan_input.job_id, attempt)
        self.store.put_json(bucket, key, [chunk.model_dump(mode="json") for chunk in chunks])
        document = {
            **plan_input.model_dump(mode="json"),
            "manifest_bucket": bucket,
            "manifest_key": key,
            "chunk_count": len(chunks),
            "resume": RESUME_LOAD_CHUNKS,
            "retry_chunks": [chunk.chunk_index for chunk in chunks],
        }
        self._start(
            self.ingest_arn, execution_name(plan_input.job_id, attempt), json.dumps(document)
        )

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        name = execution_name(job_id, attempt)
        self._start(self.export_arn, name, json.dumps({"job_id": str(job_id)}))


def aws_launcher(store: ObjectStore) -> StepFunctionsLauncher:
    """The Step Functions launcher of the configured state machines."""
    settings = get_settings()
    client = boto3.client("stepfunctions", region_name=settings.aws_region)
    return StepFunctionsLauncher(
        client, store, settings.ingest_state_machine_arn, settings.export_state_machine_arn
    )


class LocalLauncher:
    """Local: the same steps, run to the end before returning (chunks on `executor`)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def start_import(self, plan_input: PlanInput, attempt: int) -> None:
        pipeline.Pipeline(self.executor).run(plan_input)

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        futures = [
            self.executor.submit(pipeline.invoke, "chunk", chunk.model_dump(mode="json"))
            for chunk in chunks
        ]
        wait(futures)  # never finalize while a chunk still runs
        errors = [future.exception() for future in futures if future.exception() is not None]
        event: dict[str, Any] = {"job_id": str(plan_input.job_id)}
        if errors:
            first = errors[0]
            event.update(failed=True, error={"Error": type(first).__name__, "Cause": str(first)})
        pipeline.invoke("finalize", event)

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        try:
            run_export_job(job_id)
        except Exception:  # recorded on the job (failed, retryable) by run_export_job
            logger.warning("local export run failed", extra={"job_id": str(job_id)})
