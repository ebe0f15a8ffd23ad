"""Chunk (Map item): load the records that start in one byte range; idempotent."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.ingest import steps
from connectra.ingest.events import ChunkItem
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ChunkItem)
def handler(event: ChunkItem, context: LambdaContext) -> dict[str, Any]:
    return steps.chunk(event).model_dump(mode="json")
