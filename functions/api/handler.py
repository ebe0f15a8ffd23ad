"""API Lambda: the FastAPI app behind API Gateway (REST proxy), through Mangum."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from connectra.observability import logger, metrics, tracer
from connectra.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def build_app() -> FastAPI:
    """The app, imported and built with the cyclic garbage collector paused (issue 13).

    Init creates some 50,000 objects beyond FastAPI's own that live as long as the
    container (modules, pydantic schemas, routes). Meanwhile the collector would run about
    85 times, once as a full collection over all of them, to free a few hundred: 40-60 ms
    of the cold start. Once built, they are frozen out of its sight (`gc.freeze`: no
    collection during a request walks them either; the few cycles of garbage among them
    stay) and the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        # Imported here, under the paused collector: this import is most of the init.
        from connectra.api.app import create_app

        return create_app()
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


app = build_app()
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
