"""Schema migrations at deploy: run by a CDK Trigger after the database exists.

Runs as the database owner (DB_SECRET_ARN is the owner's secret for this function only),
then gives the API's and workers' role its login (DB_APP_SECRET_ARN).
"""

from __future__ import annotations

from typing import Any

import psycopg
from aws_lambda_powertools.utilities.typing import LambdaContext

from connectra.db.migrate import upgrade_configured_database
from connectra.db.pool import conninfo_from_settings
from connectra.db.roles import sync_app_login
from connectra.observability import logger, tracer
from connectra.settings import get_settings


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The Trigger's event carries nothing we need: the target is always head. A failure
    # raises, which fails the deployment (and CloudFormation rolls back).
    revision = upgrade_configured_database()
    settings = get_settings()
    with psycopg.connect(conninfo_from_settings(settings), autocommit=True) as conn:
        app_role = sync_app_login(conn, settings)
    logger.info("database migrated", extra={"revision": revision, "app_role": app_role})
    return {"revision": revision, "app_role": app_role}
