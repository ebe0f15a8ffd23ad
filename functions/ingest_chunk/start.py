"""Start: the EventBridge target for S3 "Object Created" under `uploads/` → job + execution."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.observability import logger, metrics, tracer
from connectra.orchestration.launchers import StepFunctionsLauncher, aws_launcher
from connectra.orchestration.start import handle_object_created
from connectra.settings import get_settings
from connectra.storage.s3 import get_store


@lru_cache(maxsize=1)
def launcher() -> StepFunctionsLauncher:
    if not get_settings().ingest_state_machine_arn:
        raise RuntimeError("INGEST_STATE_MACHINE_ARN is not set")
    return aws_launcher(get_store())


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
