"""Jobs sweeper (EventBridge schedule): stalled jobs, due retries, queued launches, outbox."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.observability import logger, metrics, tracer
from connectra.orchestration.launchers import StepFunctionsLauncher, aws_launcher
from connectra.orchestration.sweeper import sweep
from connectra.storage.s3 import get_store


@lru_cache(maxsize=1)
def launcher() -> StepFunctionsLauncher:
    return aws_launcher(get_store())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    return asdict(sweep(launcher()))
