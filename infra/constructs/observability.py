"""Alarms on what must never go unnoticed: dead letters, failed jobs, server errors."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import EnvironmentConfig


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._build_topic(config)
        action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms = [
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
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

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
        self, construct_id: str, metric: cloudwatch.Metric, description: str
    ) -> cloudwatch.Alarm:
        return metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
