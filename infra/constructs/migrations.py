"""Schema migrations at deploy: a Trigger runs the migrate function once per change."""

from __future__ import annotations

from aws_cdk import Duration, triggers
from constructs import Construct

from infra import constants, nag
from infra.constructs.database import DatabaseConstruct
from infra.constructs.functions import FunctionFactory


class MigrationsConstruct(Construct):
    """The app stack deploys after the data stack, so the database exists when this runs.

    The Trigger re-runs whenever the function's version changes; the version hash
    includes the layer (cdk.json sets @aws-cdk/aws-lambda:recognizeLayerVersion), and the
    migrations live in the layer, so a new migration runs on the next deploy. A failed
    migration fails the deployment, which then rolls back.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        database: DatabaseConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = factory.create(
            self,
            constants.MIGRATE_FUNCTION,
            extra_environment={
                constants.ENV_DB_SECRET_ARN: database.secret.secret_arn,
                constants.ENV_DB_APP_SECRET_ARN: database.app_secret.secret_arn,
            },
        )
        database.grant_connect_as_owner(self.function)
        self.trigger = triggers.Trigger(
            self,
            "RunMigrations",
            handler=self.function,
            execute_on_handler_change=True,
            timeout=Duration.seconds(constants.MIGRATE_FUNCTION.timeout_seconds),
        )
        nag.suppress(
            self,
            nag.suppression(
                "IAM5",
                "The Trigger provider may invoke any version of the migrate function.",
                [nag.matching(r"^Resource::<.*MigrateFunction.*\.Arn>:\*$")],
            ),
        )
