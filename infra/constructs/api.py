"""The REST API: API Gateway → Lambda proxy → Mangum(FastAPI), keys and usage plans."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants, nag, naming
from infra.config import EnvironmentConfig
from infra.constructs.database import DatabaseConstruct
from infra.constructs.functions import FunctionFactory
from infra.constructs.search import SearchConstruct
from infra.constructs.storage import StorageConstruct

# Every type is binary to API Gateway, so gzip-encoded JSON and CSV downloads pass
# through whatever the client's Accept header says; Mangum base64-encodes binary
# bodies and flags them, and text responses pass unchanged.
BINARY_MEDIA_TYPES = ["*/*"]
# What browsers may send cross-origin (the preflight answers for every resource).
CORS_ALLOWED_HEADERS = ["Content-Type", "Content-Encoding", "X-API-Key", "Idempotency-Key"]


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        factory: FunctionFactory,
        storage: StorageConstruct,
        database: DatabaseConstruct,
        search: SearchConstruct | None,
        state_machines: Mapping[str, sfn.IStateMachine],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.function = self._build_function(factory, storage, database, search, state_machines)
        self.rest_api = self._build_rest_api()
        self._build_routes()
        self.usage_plans = self._build_usage_plans()
        self._suppress_findings()

    @property
    def stage_name(self) -> str:
        return self._config.name

    def _build_function(
        self,
        factory: FunctionFactory,
        storage: StorageConstruct,
        database: DatabaseConstruct,
        search: SearchConstruct | None,
        state_machines: Mapping[str, sfn.IStateMachine],
    ) -> lambda_.Function:
        # The HMAC key of search_after cursors: generated here, read by the app at run time
        # (never in the template or the function's environment).
        cursor_key = secretsmanager.Secret(
            self,
            "CursorSecret",
            description="HMAC key of Connectra search_after cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        function = factory.create(
            self,
            constants.API_FUNCTION,
            extra_environment={
                constants.ENV_API_BASE_PATH: self._config.name,
                constants.ENV_CURSOR_SECRET_ARN: cursor_key.secret_arn,
                **{name: machine.state_machine_arn for name, machine in state_machines.items()},
            },
            reserved_concurrency=self._config.api_reserved_concurrency,
        )
        cursor_key.grant_read(function)
        database.grant_connect(function)
        # Presigned POSTs for uploads/, presigned GETs for exports/ and reports/: the
        # presigned request is allowed only if the signing role may do it itself.
        storage.grant_write(function, constants.UPLOADS_PREFIX)
        storage.grant_read(function, constants.UPLOADS_PREFIX)
        storage.grant_read(function, constants.EXPORTS_PREFIX)
        storage.grant_read(function, constants.REPORTS_PREFIX)
        # POST /common/jobs/{id}/retry of an import reads its chunk manifest and writes
        # one of the chunks not done (connectra.orchestration.launchers), as the sweeper does.
        storage.grant_read(function, constants.MANIFESTS_PREFIX)
        storage.grant_write(function, constants.MANIFESTS_PREFIX)
        # POST /common/jobs/create starts imports of existing keys and exports; retry too.
        for machine in state_machines.values():
            machine.grant_start_execution(function)
        if search is not None:
            search.grant_read_write(function)
        return function

    def _build_rest_api(self) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=self._config.log_retention,
            removal_policy=self._config.stateless_removal_policy,
        )
        creates_role = self._config.api_cloudwatch_role == "create"
        rest_api = apigw.RestApi(
            self,
            constants.REST_API_ID,
            rest_api_name=naming.resource_name(self._config.name, "api"),
            description="Connectra: contacts and companies search, CRUD, import and export",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=BINARY_MEDIA_TYPES,
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            # Stage logging needs the account's API Gateway CloudWatch role (one per account
            # and region): created here (kept on delete: other APIs may rely on it), or
            # `existing` when the account already has one (docs/deploy.md).
            cloud_watch_role=creates_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if creates_role else None,
            # OPTIONS on every resource, answered by API Gateway without a key or a Lambda.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(self._config.cors_allowed_origins),
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=CORS_ALLOWED_HEADERS,
                max_age=Duration.hours(1),
            ),
            deploy_options=apigw.StageOptions(
                stage_name=self.stage_name,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Stage-wide ceiling; usage plans throttle each key below it.
                throttling_rate_limit=self._config.api_throttle_rate_limit,
                throttling_burst_limit=self._config.api_throttle_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
            ),
            # Every method needs a key unless it says otherwise (GET /health and the CORS
            # preflights do not).
            default_method_options=apigw.MethodOptions(api_key_required=True),
        )
        account = rest_api.node.try_find_child("Account")  # the CfnAccount CDK adds
        if account is not None:
            # The stage's logging settings are refused until the account has the role.
            rest_api.deployment_stage.node.add_dependency(account)
        return rest_api

    def _build_routes(self) -> None:
        integration = apigw.LambdaIntegration(self.function, proxy=True)
        self.rest_api.root.add_method("ANY", integration)
        self.rest_api.root.add_resource("{proxy+}").add_method("ANY", integration)
        health = self.rest_api.root.add_resource(constants.HEALTH_PATH)
        # Liveness probes and load balancers carry no key: the open check is shallow.
        health.add_method("GET", integration, api_key_required=False)
        # The deep check (database, search) needs a key like every other route.
        health.add_resource(constants.HEALTH_DEEP_PATH).add_method("GET", integration)

    def _build_usage_plans(self) -> dict[str, apigw.UsagePlan]:
        stage = self.rest_api.deployment_stage
        plans = {}
        for tier in self._config.usage_plans:
            plans[tier.name] = self.rest_api.add_usage_plan(
                f"UsagePlan{tier.name.title()}",
                name=naming.usage_plan_name(self._config.name, tier.name),
                description=f"Connectra {self._config.name} {tier.name} tier",
                throttle=apigw.ThrottleSettings(
                    rate_limit=tier.rate_limit, burst_limit=tier.burst_limit
                ),
                quota=apigw.QuotaSettings(limit=tier.quota_per_day, period=apigw.Period.DAY),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=stage)],
            )
        return plans

    def _suppress_findings(self) -> None:
        nag.suppress(
            self,
            nag.suppression(
                "APIG2",
                "Requests are validated by the app (pydantic), which answers 400 with a JSON "
                "body naming the offending path; a gateway validator cannot express VQL.",
            ),
            nag.suppression(
                "APIG3",
                "No WAF yet: API keys, usage-plan throttles and quotas and the stage "
                "throttle bound abuse; add a web ACL in front when exposing prod publicly.",
            ),
            nag.suppression(
                "APIG4",
                "Authorization is by API key + usage plan (product design, SPEC §5); the "
                "app scopes jobs to the caller's key id.",
            ),
            nag.suppression(
                "COG4",
                "Callers are machines holding API keys, not Cognito users (SPEC §5).",
            ),
            nag.suppression(
                "SMG4",
                "The cursor key only signs pagination cursors: rotating it ends the cursors "
                "open at that moment, nothing else; rotate with `aws secretsmanager "
                "put-secret-value` (new containers read it) rather than a rotation Lambda.",
            ),
        )
        if self.rest_api.node.try_find_child("Account") is not None:
            nag.suppress(
                self.rest_api,
                nag.suppression(
                    "IAM4",
                    "The account's API Gateway CloudWatch role uses the AWS-managed "
                    "AmazonAPIGatewayPushToCloudWatchLogs policy, as API Gateway documents.",
                    [nag.matching(r"AmazonAPIGatewayPushToCloudWatchLogs")],
                ),
            )
