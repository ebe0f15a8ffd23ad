"""The local orchestration of the ingest state machine (local runner, tests, benchmarks).

Plan → Count (each range in a worker process) → Boundaries → Chunk (each chunk in a worker
process) → Finalize, through the same step functions and the same JSON event shapes as
the Lambda handlers. Like the state machine's Retry, a failed chunk is retried a few
times with back-off; a step that still fails ends the job through Finalize as `failed`.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from typing import Any

from pydantic import BaseModel

from connectra.ingest import steps
from connectra.ingest.events import (
    BoundariesInput,
    BoundariesOutput,
    ChunkItem,
    FinalizeInput,
    ImportSummary,
    PlanInput,
    PlanOutput,
    RangeItem,
)
from connectra.observability import logger
from connectra.storage.s3 import get_store

CHUNK_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 0.5

Event = dict[str, Any]

_STEPS: dict[str, tuple[type[BaseModel], Callable[[Any], BaseModel]]] = {
    "plan": (PlanInput, steps.plan),
    "count": (RangeItem, steps.count),
    "boundaries": (BoundariesInput, steps.boundaries),
    "chunk": (ChunkItem, steps.chunk),
    "finalize": (FinalizeInput, steps.finalize),
}


def invoke(step: str, event: Event) -> Event:
    """What a Lambda invocation does: JSON event → model → step → JSON result."""
    model, function = _STEPS[step]
    return function(model.model_validate(event)).model_dump(mode="json")


def _invoke_with_retries(step: str, event: Event, attempts: int) -> Event:
    for attempt in range(1, attempts + 1):
        try:
            return invoke(step, event)
        except Exception:
            if attempt == attempts:
                raise
            logger.warning(
                "step failed, retrying",
                extra={"step": step, "attempt": attempt, "chunk": event.get("chunk_index")},
                exc_info=True,
            )
            time.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


class _InProcess(Executor):
    """An executor that runs each call at once (one worker: no process overhead)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def make_executor(workers: int) -> Executor:
    """Worker processes (spawned: each opens its own database pool and S3 client)."""
    if workers <= 1:
        return _InProcess()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


class Pipeline:
    def __init__(self, executor: Executor, chunk_attempts: int = CHUNK_ATTEMPTS) -> None:
        self.executor = executor
        self.chunk_attempts = chunk_attempts

    def _map(self, step: str, items: Iterable[Event], attempts: int) -> Iterator[Event]:
        futures = [
            self.executor.submit(_invoke_with_retries, step, item, attempts) for item in items
        ]
        wait(futures)  # never finalize while a chunk still runs, even when another failed
        for future in futures:
            yield future.result()

    def run(self, plan_input: PlanInput) -> ImportSummary:
        job_id = str(plan_input.job_id)
        store = get_store()
        try:
            plan = PlanOutput.model_validate(invoke("plan", plan_input.model_dump(mode="json")))
            ranges = store.get_json(plan.manifest_bucket, plan.manifest_key)
            counts = list(self._map("count", ranges, self.chunk_attempts))
            bounds = BoundariesOutput.model_validate(
                invoke("boundaries", {**plan.model_dump(mode="json"), "counts": counts})
            )
            items = store.get_json(bounds.manifest_bucket, bounds.manifest_key)
            list(self._map("chunk", items, self.chunk_attempts))
        except Exception as exc:
            logger.exception("import failed", extra={"job_id": job_id})
            failure = {"Error": type(exc).__name__, "Cause": str(exc)}
            event = {"job_id": job_id, "failed": True, "error": failure}
            return ImportSummary.model_validate(invoke("finalize", event))
        return ImportSummary.model_validate(invoke("finalize", {"job_id": job_id}))


def run_import(plan_input: PlanInput, workers: int = 2) -> ImportSummary:
    """Run one import to the end with `workers` processes (1: in this process)."""
    executor = make_executor(workers)
    try:
        return Pipeline(executor).run(plan_input)
    finally:
        executor.shutdown()
