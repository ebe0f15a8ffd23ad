"""In AWS a created or retried job starts its execution at once; the sweeper is the fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from connectra.settings import get_settings
from tests.api_app import fresh_app

ALICE = {"X-API-Key": "alice-key"}
EXPORT = {
    "job_type": "export",
    "entity": "contacts",
    "vql": {"where": {"keyword_match": {"must": {"seniority": "lead"}}}},
    "columns": ["uuid", "email"],
}


def state_machine(name: str) -> str:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    return str(
        client.create_state_machine(
            name=name,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/pipeline",
        )["stateMachineArn"]
    )


def executions(arn: str) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    found = client.list_executions(stateMachineArn=arn)["executions"]
    return [client.describe_execution(executionArn=e["executionArn"]) for e in found]


@pytest.fixture
def machines(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Both state machines in moto, their ARNs in the settings (the API runs as in AWS)."""
    arns = {"ingest": state_machine("ingest"), "export": state_machine("export")}
    monkeypatch.setenv("INGEST_STATE_MACHINE_ARN", arns["ingest"])
    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", arns["export"])
    monkeypatch.setenv("API_KEYS", '{"alice-key": "alice"}')
    get_settings.cache_clear()
    yield arns
    get_settings.cache_clear()


@pytest.fixture
def client(machines: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(fresh_app()) as test_client:
        yield test_client


def test_a_created_export_starts_its_execution_before_the_response(
    client: TestClient, machines: dict[str, str]
) -> None:
    response = client.post("/common/jobs/create", json=EXPORT, headers=ALICE)

    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "in_queue"
    started = executions(machines["export"])
    assert [e["name"] for e in started] == [job["job_id"]]
    assert json.loads(started[0]["input"]) == {"job_id": job["job_id"]}
    # The same Idempotency-Key again returns the job without a second execution.
    for _ in range(2):
        client.post("/common/jobs/create", json=EXPORT, headers={**ALICE, "Idempotency-Key": "k"})
    assert len(executions(machines["export"])) == 2


def test_a_retried_export_starts_a_new_execution(
    client: TestClient, machines: dict[str, str], conn: Any
) -> None:
    job_id = client.post("/common/jobs/create", json=EXPORT, headers=ALICE).json()["job_id"]
    conn.execute("UPDATE jobs SET status = 'failed', error = 'boom' WHERE uuid = %s", (job_id,))
    conn.commit()

    retried = client.post(f"/common/jobs/{job_id}/retry", headers=ALICE)

    assert retried.status_code == 200, retried.text
    names = sorted(e["name"] for e in executions(machines["export"]))
    assert names == sorted([job_id, f"{job_id}-retry-{retried.json()['retry_count']}"])


def test_a_start_that_fails_fails_the_job_for_a_later_retry(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:missing"
    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", missing)
    get_settings.cache_clear()  # the launcher is built per request from the settings

    job = client.post("/common/jobs/create", json=EXPORT, headers=ALICE).json()

    # A failure with retries left is its own state (issue 11 item 6), error kept.
    assert job["status"] == "retry_in_queue"
    assert job["error"].startswith("could not start")
