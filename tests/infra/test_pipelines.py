"""The ingest and export state machines, the S3 Object Created rule and the sweeper."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from infra import constants
from tests.infra.conftest import Synthesized, all_states, state_machine_definition


def _ingest(synth: Synthesized) -> dict[str, Any]:
    return state_machine_definition(synth, constants.INGEST_STATE_MACHINE_ID)


def test_ingest_runs_plan_count_boundaries_load_finalize_in_order(dev: Synthesized) -> None:
    definition = _ingest(dev)
    route = definition["States"][definition["StartAt"]]
    assert route["Type"] == "Choice"
    order = [route["Default"]]
    while "Next" in definition["States"][order[-1]]:
        order.append(definition["States"][order[-1]]["Next"])

    assert order == [
        constants.STATE_PLAN,
        constants.STATE_COUNT_QUOTES,
        constants.STATE_BOUNDARIES,
        constants.STATE_LOAD_CHUNKS,
        constants.STATE_FINALIZE,
    ]
    assert definition["States"][constants.STATE_FINALIZE]["End"] is True


def test_a_chunk_retry_resumes_at_the_load_map_then_finalizes(dev: Synthesized) -> None:
    from connectra.orchestration.launchers import RESUME_LOAD_CHUNKS, ResumeInput

    definition = _ingest(dev)
    route = definition["States"][definition["StartAt"]]
    (branch,) = route["Choices"]
    assert constants.RESUME_FIELD in ResumeInput.model_fields  # the branch reads the input
    assert {"Variable": "$.resume", "StringEquals": RESUME_LOAD_CHUNKS} in branch["And"]
    assert branch["Next"] == constants.STATE_LOAD_CHUNKS
    load = definition["States"][constants.STATE_LOAD_CHUNKS]
    assert load["Next"] == constants.STATE_FINALIZE
    assert load["ItemReader"]["Parameters"]["Key.$"] == "$.manifest_key"


def test_both_maps_are_distributed_and_read_a_json_manifest_from_s3(any_env: Synthesized) -> None:
    states = _ingest(any_env)["States"]

    for name in (constants.STATE_COUNT_QUOTES, constants.STATE_LOAD_CHUNKS):
        state = states[name]
        assert state["Type"] == "Map"
        assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        reader = state["ItemReader"]
        assert reader["Resource"].endswith(":states:::s3:getObject")
        assert reader["ReaderConfig"]["InputType"] == "JSON"
        # The manifest key comes from the previous step's output.
        assert reader["Parameters"]["Key.$"] == "$.manifest_key"
        assert state["MaxConcurrency"] == any_env.config.map_max_concurrency


def test_load_map_tolerates_the_configured_failures_and_keeps_results_small(
    any_env: Synthesized,
) -> None:
    states = _ingest(any_env)["States"]
    load = states[constants.STATE_LOAD_CHUNKS]
    count = states[constants.STATE_COUNT_QUOTES]

    assert load.get("ToleratedFailurePercentage", 0) == (
        any_env.config.map_tolerated_failure_percentage
    )
    # Every quote count feeds the parity prefix sum: none may be lost.
    assert "ToleratedFailurePercentage" not in count
    assert load["ResultSelector"] == {"chunks.$": "States.ArrayLength($)"}
    # AWS assembles the children's outputs before the ResultSelector runs (256 KiB): a
    # child returns its index only (tests/integration/test_state_machines.py runs it).
    chunk_task = load["ItemProcessor"]["States"][constants.STATE_LOAD_CHUNK]
    assert chunk_task["ResultSelector"] == {"chunk_index.$": "$.chunk_index"}
    assert chunk_task["ResultPath"] == "$"


def test_states_pass_the_shapes_of_the_ingest_step_models(dev: Synthesized) -> None:
    states = _ingest(dev)["States"]

    # Plan and Boundaries outputs replace the state (PlanOutput, BoundariesOutput) …
    assert states[constants.STATE_PLAN]["ResultPath"] == "$"
    assert states[constants.STATE_BOUNDARIES]["ResultPath"] == "$"
    # … and the counts land where BoundariesInput expects them.
    assert states[constants.STATE_COUNT_QUOTES]["ResultPath"] == "$.counts"
    assert states[constants.STATE_FINALIZE]["Parameters"] == {
        "job_id.$": "$.job_id",
        "failed": False,
    }


def test_every_lambda_task_retries_service_errors_and_throttles_with_backoff(
    dev: Synthesized,
) -> None:
    tasks = {
        name: state for name, state in all_states(_ingest(dev)).items() if state["Type"] == "Task"
    }
    assert set(tasks) >= {
        constants.STATE_PLAN,
        constants.STATE_COUNT_CHUNK,
        constants.STATE_BOUNDARIES,
        constants.STATE_LOAD_CHUNK,
        constants.STATE_FINALIZE,
        constants.STATE_MARK_FAILED,
    }
    for name, task in tasks.items():
        retry = task["Retry"][0]
        assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"], name
        assert "Lambda.ServiceException" in retry["ErrorEquals"], name
        assert retry["BackoffRate"] > 1, name
        assert retry["MaxAttempts"] >= 3, name


def test_any_failure_marks_the_job_failed_then_fails_the_execution(dev: Synthesized) -> None:
    states = _ingest(dev)["States"]

    for name in (
        constants.STATE_PLAN,
        constants.STATE_COUNT_QUOTES,
        constants.STATE_BOUNDARIES,
        constants.STATE_LOAD_CHUNKS,
        constants.STATE_FINALIZE,
    ):
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"], name
        assert catch["Next"] == constants.STATE_MARK_FAILED, name
    mark_failed = states[constants.STATE_MARK_FAILED]
    # payload_response_only: Parameters is the function's event itself.
    assert mark_failed["Parameters"]["failed"] is True
    assert mark_failed["Parameters"]["job_id.$"] == "$.job_id"
    assert mark_failed["Parameters"]["error.$"] == "$.error"
    assert states[mark_failed["Next"]]["Type"] == "Fail"


def test_state_machines_are_traced_and_logged(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.resource_count_is("AWS::StepFunctions::StateMachine", 2)
    template.all_resources_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": assertions.Match.object_like({"Level": "ALL"}),
        },
    )


def test_object_created_rule_matches_our_bucket_under_uploads(dev: Synthesized) -> None:
    rules = dev.resources(constants.APP_STACK, "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if "EventPattern" in r["Properties"]]
    pattern = rule["Properties"]["EventPattern"]

    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": constants.UPLOADS_PREFIX}]
    (bucket_name,) = pattern["detail"]["bucket"]["name"]
    assert "DataBucket" in str(bucket_name)  # the data stack's bucket, by reference

    (target,) = rule["Properties"]["Targets"]
    assert constants.INGEST_START_FUNCTION.construct_id in str(target["Arn"])
    assert constants.EVENTS_DLQ_ID in str(target["DeadLetterConfig"]["Arn"])
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_sweeper_runs_every_minute_with_a_dead_letter_queue(dev: Synthesized) -> None:
    rules = dev.resources(constants.APP_STACK, "AWS::Events::Rule")
    (schedule,) = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]

    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = schedule["Properties"]["Targets"]
    assert constants.SWEEPER_FUNCTION.construct_id in str(target["Arn"])
    assert "DeadLetterConfig" in target


def test_dead_letter_queue_is_encrypted_and_tls_only(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
