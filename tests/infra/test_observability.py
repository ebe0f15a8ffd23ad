"""Alarms: dead letters, failed and timed-out executions, API 5xx, into an encrypted topic."""

from __future__ import annotations

from aws_cdk import assertions

from infra import constants
from tests.infra.conftest import Synthesized


def test_alarms_watch_dead_letters_failed_executions_and_api_errors(any_env: Synthesized) -> None:
    alarms = any_env.resources(constants.APP_STACK, "AWS::CloudWatch::Alarm").values()
    watched = {
        (alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"]) for alarm in alarms
    }

    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in watched
    assert ("AWS/States", "ExecutionsFailed") in watched
    assert ("AWS/States", "ExecutionsTimedOut") in watched
    assert ("AWS/ApiGateway", "5XXError") in watched
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the topic"
        if alarm["Properties"]["Namespace"] in ("AWS/SQS", "AWS/States", "AWS/Lambda"):
            assert alarm["Properties"]["Threshold"] == 1  # any occurrence pages


def test_ingest_failure_alarm_watches_the_ingest_state_machine(dev: Synthesized) -> None:
    alarms = dev.resources(constants.APP_STACK, "AWS::CloudWatch::Alarm")
    (failed,) = [
        a for k, a in alarms.items() if k.startswith("ObservabilityIngestExecutionsFailed")
    ]

    (dimension,) = failed["Properties"]["Dimensions"]
    assert constants.INGEST_STATE_MACHINE_ID in str(dimension["Value"])


def test_alarm_topic_is_encrypted_with_a_rotated_key(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": assertions.Match.any_value()}
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
