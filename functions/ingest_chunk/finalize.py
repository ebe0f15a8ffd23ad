"""Finalize: totals, error report, final job status (also after a failed run)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.ingest import steps
from connectra.ingest.events import FinalizeInput
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FinalizeInput)
def handler(event: FinalizeInput, context: LambdaContext) -> dict[str, Any]:
    return steps.finalize(event).model_dump(mode="json")
