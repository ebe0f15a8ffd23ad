"""Alarms on what must never go unnoticed, and who hears them.

Dead letters, failed or timed-out executions, API 5xx; every function's errors and
throttles (the sweeper's errors included: it runs unattended every minute); the
database (CPU, storage, RDS Proxy connection failures) and the search domain (red
status, blocked writes, storage). The topic mails `alarm_email` (cdk.json or
`-c alarm_email=...`); staging and prod refuse to synthesize without one.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Annotations, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.database import DatabaseConstruct
from infra.constructs.search import SearchConstruct

FIVE_MINUTES = Duration.minutes(5)
GIB = 1024**3


class ObservabilityConstruct(Construct):
    """An encrypted alarm topic (optionally mailed) and the alarms that publish to it.

    X-Ray and Powertools settings live with each function and state machine; this
    construct owns what turns their metrics into a page.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        dead_letter_queue: sqs.IQueue,
        ingest_state_machine: sfn.StateMachine,
        export_state_machine: sfn.StateMachine,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.Function],
        database: DatabaseConstruct,
        search: SearchConstruct | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._build_topic(config)
        action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms = self._pipeline_alarms(
            dead_letter_queue, ingest_state_machine, export_state_machine, rest_api
        )
        self.alarms += self._function_alarms(functions)
        self.alarms += self._database_alarms(config, database)
        if search is not None:
            self.alarms += self._search_alarms(config, search)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
        self._subscribe(config)

    def _subscribe(self, config: EnvironmentConfig) -> None:
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
            return
        message = (
            f"{config.name}: the alarm topic has no subscriber; deploy with "
            "-c alarm_email=<address> (or set alarm_email in cdk.json)"
        )
        if config.name == "dev":
            Annotations.of(self).add_warning_v2("connectra:alarms-without-subscriber", message)
        else:
            Annotations.of(self).add_error(message)

    def _pipeline_alarms(
        self,
        dead_letter_queue: sqs.IQueue,
        ingest_state_machine: sfn.StateMachine,
        export_state_machine: sfn.StateMachine,
        rest_api: apigw.RestApi,
    ) -> list[cloudwatch.Alarm]:
        return [
            self._alarm(
                "DeadLetterQueueAlarm",
                dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                "Events or async invocations were dead-lettered (import not started?)",
            ),
            self._alarm(
                "IngestExecutionsFailedAlarm",
                ingest_state_machine.metric_failed(period=Duration.minutes(5)),
                "An ingest execution failed: the job is marked failed",
            ),
            self._alarm(
                "IngestExecutionsTimedOutAlarm",
                ingest_state_machine.metric_timed_out(period=Duration.minutes(5)),
                "An ingest execution timed out: the sweeper will mark the job",
            ),
            self._alarm(
                "ExportExecutionsFailedAlarm",
                export_state_machine.metric_failed(period=Duration.minutes(5)),
                "An export execution failed",
            ),
            self._alarm(
                "Api5xxAlarm",
                rest_api.metric_server_error(period=Duration.minutes(5), statistic="Sum"),
                "The API answered 5xx: a 500 is a bug",
            ),
        ]

    def _function_alarms(self, functions: Mapping[str, lambda_.Function]) -> list[cloudwatch.Alarm]:
        alarms = []
        for name, function in sorted(functions.items()):
            alarms.append(
                self._alarm(
                    f"{name}ErrorsAlarm",
                    function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                    f"{name} raised errors (state machines retry theirs; the sweeper's "
                    "and the API's have no one else watching)",
                )
            )
            alarms.append(
                self._alarm(
                    f"{name}ThrottlesAlarm",
                    function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                    f"{name} was throttled: account concurrency or its reservation",
                )
            )
        return alarms

    def _database_alarms(
        self, config: EnvironmentConfig, database: DatabaseConstruct
    ) -> list[cloudwatch.Alarm]:
        proxy_name = {"ProxyName": database.proxy.db_proxy_name}
        return [
            self._alarm(
                "DatabaseCpuAlarm",
                database.instance.metric_cpu_utilization(period=FIVE_MINUTES),
                "PostgreSQL CPU above 80% for 15 minutes",
                threshold=80,
                periods=3,
            ),
            self._alarm(
                "DatabaseFreeStorageAlarm",
                database.instance.metric_free_storage_space(
                    period=FIVE_MINUTES, statistic="Minimum"
                ),
                "PostgreSQL free storage below 10% of the allocation (autoscaling stuck?)",
                threshold=config.db_allocated_storage_gib * GIB / 10,
                below=True,
            ),
            self._alarm(
                "DatabaseProxyConnectionFailuresAlarm",
                cloudwatch.Metric(
                    namespace="AWS/RDS",
                    metric_name="DatabaseConnectionsSetupFailed",
                    dimensions_map=proxy_name,
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                "The RDS Proxy could not open connections to PostgreSQL",
            ),
            self._alarm(
                "DatabaseProxyAuthFailuresAlarm",
                cloudwatch.Metric(
                    namespace="AWS/RDS",
                    metric_name="ClientConnectionsSetupFailedAuth",
                    dimensions_map=proxy_name,
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                "Functions failed to log in to the RDS Proxy (secret or role mismatch)",
            ),
        ]

    def _search_alarms(
        self, config: EnvironmentConfig, search: SearchConstruct
    ) -> list[cloudwatch.Alarm]:
        domain = search.domain
        return [
            self._alarm(
                "SearchClusterRedAlarm",
                domain.metric_cluster_status_red(period=Duration.minutes(1)),
                "OpenSearch status red: a primary shard is unassigned",
            ),
            self._alarm(
                "SearchWritesBlockedAlarm",
                domain.metric_cluster_index_writes_blocked(period=FIVE_MINUTES),
                "OpenSearch blocks writes (storage or memory pressure): the outbox grows",
            ),
            self._alarm(
                "SearchFreeStorageAlarm",
                domain.metric_free_storage_space(period=FIVE_MINUTES, statistic="Minimum"),
                "OpenSearch free storage below 20% of a node's volume",
                threshold=config.opensearch_volume_gib * 1024 * 0.2,  # the metric is in MiB
                below=True,
            ),
        ]

    def _build_topic(self, config: EnvironmentConfig) -> sns.Topic:
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key: own key.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Connectra {config.name}: alarm topic encryption",
            enable_key_rotation=True,
            removal_policy=config.stateless_removal_policy,
        )
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        return sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 1,
        periods: int = 1,
        below: bool = False,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=(
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                if below
                else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
