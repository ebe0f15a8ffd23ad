"""Boundaries: range counts → each chunk's start parity and line → the chunks manifest."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.ingest import steps
from connectra.ingest.events import BoundariesInput
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BoundariesInput)
def handler(event: BoundariesInput, context: LambdaContext) -> dict[str, Any]:
    return steps.boundaries(event).model_dump(mode="json")
