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
# A REST API proxy event's `path` carries no stage (`/contacts/`, not `/dev/contacts/`):
# routes match as they are, so Mangum strips nothing. The stage is the app's root path
# instead, for the URLs the app writes into pages: /docs loads `/dev/openapi.json` and
# the assets under `/dev/docs-assets/`, and the OpenAPI `servers` entry is `/dev`.
# (API_BASE_PATH is the stage name; empty behind a custom domain without a base path.)
base_path = get_settings().api_base_path.strip("/")
app.root_path = f"/{base_path}" if base_path else ""
asgi_handler = Mangum(app, api_gateway_base_path="/", lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asgi_handler(event, context)  # type: ignore[arg-type]
