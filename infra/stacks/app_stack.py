"""App stack: everything stateless (layer, functions, API, pipelines, alarms)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig
from infra.constructs.api import ApiConstruct
from infra.constructs.functions import CommonLayerConstruct, FunctionFactory
from infra.constructs.migrations import MigrationsConstruct
from infra.constructs.network import NetworkConstruct
from infra.constructs.observability import ObservabilityConstruct
from infra.constructs.pipelines import PipelinesConstruct
from infra.stacks.data_stack import DataStack


class AppStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkConstruct,
        data: DataStack,
        layer_source: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        layer = CommonLayerConstruct(self, constants.LAYER_CONSTRUCT, source=layer_source)
        factory = FunctionFactory(
            config=config,
            layer=layer.layer,
            vpc=network.vpc,
            subnets=network.app_subnets,
            security_group=data.database.client_security_group,
            environment=self._function_environment(config, data),
        )
        self.pipelines = PipelinesConstruct(
            self,
            constants.PIPELINES_CONSTRUCT,
            config=config,
            factory=factory,
            storage=data.storage,
            database=data.database,
            search=data.search,
        )
        self.api = ApiConstruct(
            self,
            constants.API_CONSTRUCT,
            config=config,
            factory=factory,
            storage=data.storage,
            database=data.database,
            search=data.search,
            state_machines={
                constants.ENV_INGEST_STATE_MACHINE_ARN: self.pipelines.ingest_state_machine,
                constants.ENV_EXPORT_STATE_MACHINE_ARN: self.pipelines.export_state_machine,
            },
        )
        self.migrations = MigrationsConstruct(
            self, constants.MIGRATIONS_CONSTRUCT, factory=factory, database=data.database
        )
        # Each release's code is written for the schema of its migrations (a new index,
        # function or column its queries name): every other function is updated only once
        # they ran. The running code meanwhile keeps working on the migrated schema.
        self.migrations.trigger.execute_before(
            *(
                function
                for function in factory.functions.values()
                if function is not self.migrations.function
            )
        )
        self.observability = ObservabilityConstruct(
            self,
            constants.OBSERVABILITY_CONSTRUCT,
            config=config,
            dead_letter_queue=self.pipelines.dead_letter_queue,
            ingest_state_machine=self.pipelines.ingest_state_machine,
            export_state_machine=self.pipelines.export_state_machine,
            rest_api=self.api.rest_api,
            functions=factory.functions,
            database=data.database,
            search=data.search,
        )
        self.functions = factory.functions
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(
            self,
            "IngestStateMachineArn",
            value=self.pipelines.ingest_state_machine.state_machine_arn,
        )
        for tier, plan in self.api.usage_plans.items():
            CfnOutput(self, f"UsagePlan{tier.title()}Id", value=plan.usage_plan_id)
        nag.attach_checks(self)

    @staticmethod
    def _function_environment(config: EnvironmentConfig, data: DataStack) -> dict[str, str]:
        """What connectra.settings reads in every function (SPEC: one Settings)."""
        environment = {
            constants.ENV_ENVIRONMENT: config.name,
            # The app role's secret; the migrate function alone gets the owner's.
            constants.ENV_DB_SECRET_ARN: data.database.app_secret.secret_arn,
            constants.ENV_DB_HOST: data.database.proxy.endpoint,
            constants.ENV_DB_PORT: str(constants.DATABASE_PORT),
            constants.ENV_DB_NAME: constants.DATABASE_NAME,
            # The proxy requires TLS; "prefer" would also work but hides a misconfiguration.
            constants.ENV_DB_SSLMODE: "require",
            constants.ENV_SEARCH_BACKEND: config.search_backend,
            constants.ENV_S3_BUCKET: data.storage.bucket.bucket_name,
            constants.ENV_AUTH_MODE: constants.AUTH_MODE_APIGATEWAY,
            constants.ENV_CHUNK_SIZE_BYTES: str(config.chunk_size_bytes),
            constants.ENV_POWERTOOLS_SERVICE_NAME: constants.PROJECT,
            constants.ENV_POWERTOOLS_METRICS_NAMESPACE: constants.METRICS_NAMESPACE,
            constants.ENV_LOG_LEVEL: "DEBUG" if config.name == "dev" else "INFO",
        }
        if data.search is not None:
            environment[constants.ENV_OPENSEARCH_URL] = data.search.url
            environment[constants.ENV_OPENSEARCH_AUTH] = constants.OPENSEARCH_AUTH_SIGV4
        return environment
