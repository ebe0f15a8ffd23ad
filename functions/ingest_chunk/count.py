"""Count (Map item): the quote and newline bytes of one byte range."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.ingest import steps
from connectra.ingest.events import RangeItem
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RangeItem)
def handler(event: RangeItem, context: LambdaContext) -> dict[str, Any]:
    return steps.count(event).model_dump(mode="json")
