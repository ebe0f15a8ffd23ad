"""Ingest and export pipelines: Step Functions, the S3 Object Created rule, the sweeper.

Ingest (state names in constants):

    Plan ─► CountQuotes (Distributed Map over the chunk manifest, one quote count per
    byte range) ─► Boundaries (parity prefix sums → load manifest) ─► LoadChunks
    (Distributed Map over the load manifest) ─► Finalize
    any failure ─► MarkFailed (finalize with failed=true) ─► Fail

A retry started by the sweeper carries `resume: load_chunks` and a manifest of only the
failed chunks: RouteRun sends it straight to LoadChunks (then Finalize).

Every state's input carries `job_id` (the execution input is connectra.ingest.events.
PlanInput, and each step returns it), so the failure path reads it from the failed
step's input; the shapes between steps are the models of connectra.ingest.events.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import constants, nag
from infra.config import EnvironmentConfig
from infra.constructs.database import DatabaseConstruct
from infra.constructs.functions import FunctionFactory
from infra.constructs.search import SearchConstruct
from infra.constructs.storage import StorageConstruct

INGEST_TIMEOUT = Duration.hours(12)
EXPORT_TIMEOUT = Duration.hours(6)
JOB_ID = sfn.JsonPath.string_at("$.job_id")


class PipelinesConstruct(Construct):
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
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._factory = factory
        self._storage = storage
        self._database = database
        self._search = search
        self.dead_letter_queue = self._build_dead_letter_queue()
        self.ingest_state_machine = self._build_ingest_state_machine()
        self.export_state_machine = self._build_export_state_machine()
        self.ingest_start_function = self._build_ingest_trigger()
        self.sweeper_function = self._build_sweeper()
        nag.suppress(
            self,
            nag.suppression(
                "IAM5",
                "State machine roles: invoking any version of their own task functions "
                "(<function>.Arn:*); Distributed Map managing its own child executions, "
                "whose ARNs exist only at run time; the S3 item reader reading manifests "
                "(CDK grants s3:GetObject on the data bucket's objects, read-only); and "
                "log delivery and X-Ray calls, which have no resource-level permissions.",
                [
                    "Resource::*",
                    nag.matching(r"^Resource::<.*Function.*\.Arn>:\*$"),
                    nag.matching(r"^Resource::arn:.*:states:.*:execution:.*\*$"),
                    nag.matching(r"^Resource::arn:<AWS::Partition>:s3:::<.*DataBucket.*>/\*$"),
                ],
            ),
        )

    # ---- shared pieces -------------------------------------------------------------
    def _build_dead_letter_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            constants.EVENTS_DLQ_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=self._config.stateless_removal_policy,
        )
        nag.suppress(
            queue,
            nag.suppression(
                "SQS3",
                "This queue is itself the dead-letter queue of the EventBridge targets and "
                "of the asynchronous invocations; its depth is alarmed on.",
            ),
        )
        return queue

    def _invoke(
        self,
        state_name: str,
        function: lambda_.IFunction,
        *,
        payload: sfn.TaskInput | None = None,
        result_selector: dict[str, str] | None = None,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=function,
            payload=payload,
            payload_response_only=True,
            result_selector=result_selector,
            result_path=result_path,
            # The explicit Retry below covers the same errors plus throttling, with jitter.
            retry_on_service_exceptions=False,
        )
        task.add_retry(
            errors=list(constants.LAMBDA_TRANSIENT_ERRORS),
            interval=Duration.seconds(constants.TASK_RETRY_INTERVAL_SECONDS),
            max_attempts=constants.TASK_RETRY_MAX_ATTEMPTS,
            backoff_rate=constants.TASK_RETRY_BACKOFF_RATE,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _state_machine_logs(self, name: str) -> sfn.LogOptions:
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=self._config.log_retention,
            removal_policy=self._config.stateless_removal_policy,
        )
        return sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL)

    def _function(self, spec: constants.FunctionSpec, **kwargs: object) -> lambda_.Function:
        return self._factory.create(self, spec, **kwargs)  # type: ignore[arg-type]

    # ---- ingest --------------------------------------------------------------------
    def _build_ingest_state_machine(self) -> sfn.StateMachine:
        storage, database = self._storage, self._database

        plan_function = self._function(constants.INGEST_PLAN_FUNCTION)
        storage.grant_read(plan_function, constants.UPLOADS_PREFIX)
        storage.grant_write(plan_function, constants.MANIFESTS_PREFIX)
        database.grant_connect(plan_function)

        count_function = self._function(constants.INGEST_COUNT_FUNCTION)
        storage.grant_read(count_function, constants.UPLOADS_PREFIX)

        boundaries_function = self._function(constants.INGEST_BOUNDARIES_FUNCTION)
        storage.grant_read(boundaries_function, constants.MANIFESTS_PREFIX)
        storage.grant_write(boundaries_function, constants.MANIFESTS_PREFIX)
        database.grant_connect(boundaries_function)

        chunk_function = self._function(constants.INGEST_CHUNK_FUNCTION)
        storage.grant_read(chunk_function, constants.UPLOADS_PREFIX)
        database.grant_connect(chunk_function)

        finalize_function = self._function(constants.INGEST_FINALIZE_FUNCTION)
        storage.grant_read(finalize_function, constants.REPORTS_PREFIX)
        storage.grant_write(finalize_function, constants.REPORTS_PREFIX)
        database.grant_connect(finalize_function)

        # Plan returns {job_id, bucket, key, manifest_bucket, manifest_key, chunk_count}.
        plan = self._invoke(constants.STATE_PLAN, plan_function, result_path="$")

        count_quotes = sfn.DistributedMap(
            self,
            constants.STATE_COUNT_QUOTES,
            item_reader=sfn.S3JsonItemReader(
                bucket=storage.bucket, key=sfn.JsonPath.string_at("$.manifest_key")
            ),
            max_concurrency=self._config.map_max_concurrency,
            # Counting is seconds per chunk: cheap Express child workflows suffice.
            map_execution_type=sfn.StateMachineType.EXPRESS,
            # Every count is needed for the parity prefix sum: no tolerated failure.
            # Boundaries reads them as `counts` next to the plan (BoundariesInput).
            result_path="$.counts",
        )
        count_quotes.item_processor(self._invoke(constants.STATE_COUNT_CHUNK, count_function))

        boundaries = self._invoke(constants.STATE_BOUNDARIES, boundaries_function, result_path="$")

        load_chunk = self._invoke(
            constants.STATE_LOAD_CHUNK,
            chunk_function,
            # The chunk records its own counts in the database. A child's output becomes
            # one element of the map's result array, which AWS assembles in full (256 KiB
            # limit) BEFORE the ResultSelector runs: each child returns only its index.
            result_selector={"chunk_index.$": "$.chunk_index"},
            result_path="$",
        )
        # A chunk is idempotent: a failed attempt (e.g. a dropped connection) is retried.
        load_chunk.add_retry(
            errors=["States.TaskFailed", "States.Timeout"],
            interval=Duration.seconds(10),
            max_attempts=2,
            backoff_rate=3.0,
            jitter_strategy=sfn.JitterType.FULL,
        )
        load_chunks = sfn.DistributedMap(
            self,
            constants.STATE_LOAD_CHUNKS,
            item_reader=sfn.S3JsonItemReader(
                bucket=storage.bucket, key=sfn.JsonPath.string_at("$.manifest_key")
            ),
            max_concurrency=self._config.map_max_concurrency,
            tolerated_failure_percentage=self._config.map_tolerated_failure_percentage,
            # Loading a 64 MiB chunk can outlast the 5-minute limit of Express workflows.
            map_execution_type=sfn.StateMachineType.STANDARD,
            # Each child returns {"chunk_index"} (above); the state keeps only their number.
            result_selector={"chunks.$": "States.ArrayLength($)"},
            result_path="$.load",
        )
        load_chunks.item_processor(load_chunk)

        finalize = self._invoke(
            constants.STATE_FINALIZE,
            finalize_function,
            payload=sfn.TaskInput.from_object({"job_id": JOB_ID, "failed": False}),
        )
        mark_failed = self._invoke(
            constants.STATE_MARK_FAILED,
            finalize_function,
            payload=sfn.TaskInput.from_object(
                {"job_id": JOB_ID, "failed": True, "error": sfn.JsonPath.object_at("$.error")}
            ),
        ).next(sfn.Fail(self, "IngestFailed", cause="ingest failed; the job is marked failed"))

        for step in (plan, count_quotes, boundaries, load_chunks, finalize):
            step.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")

        plan.next(count_quotes).next(boundaries).next(load_chunks).next(finalize)
        route = (
            sfn.Choice(self, constants.STATE_ROUTE_RUN)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"$.{constants.RESUME_FIELD}"),
                    sfn.Condition.string_equals(
                        f"$.{constants.RESUME_FIELD}", constants.RESUME_LOAD_CHUNKS
                    ),
                ),
                load_chunks,
            )
            .otherwise(plan)
        )
        definition = route
        return sfn.StateMachine(
            self,
            constants.INGEST_STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=INGEST_TIMEOUT,
            tracing_enabled=True,
            logs=self._state_machine_logs(constants.INGEST_STATE_MACHINE_ID),
            comment="CSV import: plan, exact parallel chunks, finalize",
        )

    def _build_ingest_trigger(self) -> lambda_.Function:
        """S3 Object Created under uploads/ → start function → one execution per job."""
        start_function = self._function(
            constants.INGEST_START_FUNCTION,
            extra_environment={
                constants.ENV_INGEST_STATE_MACHINE_ARN: (
                    self.ingest_state_machine.state_machine_arn
                )
            },
            # Async invocations that still fail after Lambda's retries land in the DLQ.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
        )
        # The event carries key, size and etag: the start function never reads the object.
        self.ingest_state_machine.grant_start_execution(start_function)
        self._database.grant_connect(start_function)

        events.Rule(
            self,
            constants.INGEST_RULE_ID,
            description="An object was created under uploads/: start its import job",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self._storage.bucket.bucket_name]},
                    "object": {"key": [{"prefix": constants.UPLOADS_PREFIX}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    start_function,
                    # Delivery failures (throttling, permissions) are kept, not dropped.
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
        return start_function

    # ---- export --------------------------------------------------------------------
    def _build_export_state_machine(self) -> sfn.StateMachine:
        export_function = self._function(constants.EXPORT_FUNCTION)
        self._storage.grant_read(export_function, constants.EXPORTS_PREFIX)
        self._storage.grant_write(export_function, constants.EXPORTS_PREFIX)
        # Parts are assembled into the final object, then deleted (DeleteObjects).
        self._storage.grant_delete(export_function, constants.EXPORTS_PREFIX)
        # Exports page through PostgreSQL only (connectra.export.pages): no search grant.
        self._database.grant_connect(export_function)

        export = self._invoke(constants.STATE_EXPORT, export_function)
        export.add_catch(
            sfn.Fail(self, constants.STATE_EXPORT_FAILED, cause="export failed"),
            errors=["States.ALL"],
            result_path="$.error",
        )
        return sfn.StateMachine(
            self,
            constants.EXPORT_STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(export),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=EXPORT_TIMEOUT,
            tracing_enabled=True,
            logs=self._state_machine_logs(constants.EXPORT_STATE_MACHINE_ID),
            comment="Export: VQL query to CSV in S3 exports/",
        )

    # ---- sweeper -------------------------------------------------------------------
    def _build_sweeper(self) -> lambda_.Function:
        sweeper = self._function(
            constants.SWEEPER_FUNCTION,
            extra_environment={
                constants.ENV_INGEST_STATE_MACHINE_ARN: (
                    self.ingest_state_machine.state_machine_arn
                ),
                constants.ENV_EXPORT_STATE_MACHINE_ARN: (
                    self.export_state_machine.state_machine_arn
                ),
            },
            # The next scheduled run is the retry: a failed run must not pile up.
            # (Two overlapping runs are harmless: the sweeper's SQL skips locked rows.)
            retry_attempts=0,
        )
        self.ingest_state_machine.grant_start_execution(sweeper)
        self.export_state_machine.grant_start_execution(sweeper)
        # A chunk retry reads the job's chunk manifest and writes one of the failed
        # chunks for the LoadChunks map (connectra.orchestration.sweeper / launchers).
        self._storage.grant_read(sweeper, constants.MANIFESTS_PREFIX)
        self._storage.grant_write(sweeper, constants.MANIFESTS_PREFIX)
        self._database.grant_connect(sweeper)
        if self._search is not None:
            # The sweeper drains the search outbox into the index.
            self._search.grant_read_write(sweeper)

        events.Rule(
            self,
            constants.SWEEPER_SCHEDULE_ID,
            description="Jobs sweeper: due retries, stuck jobs, search-index outbox",
            schedule=events.Schedule.rate(Duration.minutes(constants.SWEEPER_RATE_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    sweeper,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=Duration.minutes(5),
                )
            ],
        )
        return sweeper
