"""The local adapter of `connectra.orchestration.launchers.JobLauncher`: the state
machines' steps run in this process and worker processes instead of Step Functions.

Like Step Functions, a run is known by its execution name: starting a name already
started is refused (False), so a replayed upload event imports once. Whole imports run
on `jobs` (default: in the caller's thread, to the end before returning); their counts
and chunks, and retried chunks, on the `workers` executor.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, wait
from typing import Any

from connectra.export.job import run_export_job
from connectra.ingest.events import ChunkItem, PlanInput
from connectra.local import pipeline
from connectra.observability import logger
from connectra.orchestration.launchers import execution_name


class LocalLauncher:
    def __init__(self, workers: Executor, jobs: Executor | None = None) -> None:
        self.workers = workers
        self.jobs = jobs or pipeline.make_executor(1)
        self.pipeline = pipeline.Pipeline(workers)
        self.started: set[str] = set()
        self._lock = threading.Lock()

    def _claim(self, name: str) -> bool:
        with self._lock:
            if name in self.started:
                return False
            self.started.add(name)
            return True

    def start_import(self, plan_input: PlanInput, attempt: int) -> bool:
        if not self._claim(execution_name(plan_input.job_id, attempt)):
            return False
        self.jobs.submit(self._run_import, plan_input)
        return True

    def _run_import(self, plan_input: PlanInput) -> None:
        summary = self.pipeline.run(plan_input)
        logger.info("import job ended", extra=summary.model_dump(mode="json"))

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        futures = [
            self.workers.submit(pipeline.invoke, "chunk", chunk.model_dump(mode="json"))
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
