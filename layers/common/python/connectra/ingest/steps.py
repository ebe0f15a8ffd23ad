"""The ingest steps as the state machine calls them: a validated event model in, a model out.

The Lambda handlers (functions/ingest_chunk/*.py) and the local pipeline call exactly these
functions with exactly the same event shapes; only the transport differs. Each binds its
job id to the logger, once per invocation.
"""

from __future__ import annotations

from connectra.ingest.chunk import run_chunk
from connectra.ingest.events import (
    BoundariesInput,
    BoundariesOutput,
    ChunkItem,
    ChunkSummary,
    FinalizeInput,
    ImportSummary,
    PlanInput,
    PlanOutput,
    RangeCount,
    RangeItem,
)
from connectra.ingest.finalize import finalize_job
from connectra.ingest.plan import count_range, plan_boundaries, plan_job
from connectra.observability import bind_job
from connectra.storage.s3 import get_store


def plan(event: PlanInput) -> PlanOutput:
    bind_job(event.job_id)
    store = get_store()
    return plan_job(event, store, store)


def count(event: RangeItem) -> RangeCount:
    bind_job(event.job_id)
    return count_range(event, get_store())


def boundaries(event: BoundariesInput) -> BoundariesOutput:
    bind_job(event.job_id)
    return plan_boundaries(event, get_store())


def chunk(event: ChunkItem) -> ChunkSummary:
    bind_job(event.job_id)
    return run_chunk(event, get_store())


def finalize(event: FinalizeInput) -> ImportSummary:
    bind_job(event.job_id)
    return finalize_job(event, get_store())
