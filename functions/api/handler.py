"""API Lambda: the FastAPI app behind API Gateway (REST proxy), through Mangum."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from connectra.api.app import create_app
from connectra.observability import logger, metrics, tracer
from connectra.settings import get_settings

app = create_app()
# The stage name prefixes every path behind a REST API stage; without it routes are 404s.
asgi_handler = Mangum(
    app, api_gateway_base_path=get_settings().api_base_path or "/", lifespan="off"
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asgi_handler(event, context)  # type: ignore[arg-type]
