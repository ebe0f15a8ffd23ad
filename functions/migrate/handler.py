"""Schema migrations at deploy: run by a CDK Trigger after the database exists."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.db.migrate import upgrade_configured_database
from connectra.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The Trigger's event carries nothing we need: the target is always head. A failure
    # raises, which fails the deployment (and CloudFormation rolls back).
    revision = upgrade_configured_database()
    logger.info("database migrated", extra={"revision": revision})
    return {"revision": revision}
