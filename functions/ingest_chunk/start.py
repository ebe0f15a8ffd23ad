"""Start: the EventBridge target for S3 "Object Created" under `uploads/` → job + execution."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.observability import logger, metrics, tracer
from connectra.orchestration.start import StepFunctionsLauncher, handle_object_created
from connectra.settings import get_settings


@lru_cache(maxsize=1)
def launcher() -> StepFunctionsLauncher:
    settings = get_settings()
    if not settings.ingest_state_machine_arn:
        raise RuntimeError("INGEST_STATE_MACHINE_ARN is not set")
    client = boto3.client("stepfunctions", region_name=settings.aws_region)
    return StepFunctionsLauncher(client, settings.ingest_state_machine_arn)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=S3EventNotificationEventBridgeModel)
def handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    outcome = handle_object_created(event, launcher())
    return {
        "accepted": outcome.accepted,
        "reason": outcome.reason,
        "job_id": str(outcome.job_id) if outcome.job_id else None,
        "started": outcome.started,
    }
