"""Plan: object size, header and byte ranges → the ranges manifest in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.ingest import steps
from connectra.ingest.events import PlanInput
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PlanInput)
def handler(event: PlanInput, context: LambdaContext) -> dict[str, Any]:
    return steps.plan(event).model_dump(mode="json")
