"""Export: run one export job (VQL query → CSV/NDJSON in S3) → its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.export.events import ExportJobEvent
from connectra.export.job import run_export_job
from connectra.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ExportJobEvent)
def handler(event: ExportJobEvent, context: LambdaContext) -> dict[str, Any]:
    return run_export_job(event.job_id).model_dump(mode="json")
