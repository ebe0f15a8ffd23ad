"""Every AWS call of every function is allowed by the role synthesized for it.

moto enforces IAM here: each function runs with the keys of an IAM user holding exactly
the policies of its synthesized role (tests.integration.synthesized_app), and each
state machine's Distributed Map reads its items with its own role's policies. The flows
are those of production: upload → S3 event → start → the ingest state machine (plan,
count, boundaries, chunk, finalize); a failed chunk retried by the API and by the
sweeper; an export in parts; the cursor secret; migrations at deploy.

A call a role does not allow raises AccessDenied inside the function, as in AWS; the
flows then fail or leave the job failed with "could not start: AccessDenied".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import constants
from tests.infra.conftest import synthesize
from tests.integration.aws_events import api_request, schedule
from tests.integration.synthesized_app import BUCKET, TestAccount
from tests.integration.test_state_machines import (
    api,
    csv_of,
    failing_chunks,
    job_status,
    run_latest,
    table_count,
    upload,
)

__all__ = ["failing_chunks"]  # the fixture, shared with the state-machine tests

INGEST = constants.INGEST_STATE_MACHINE_ID
EXPORT = constants.EXPORT_STATE_MACHINE_ID


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture
def account(clean_db: str, cdk_out: Path) -> Iterator[TestAccount]:
    with mock_aws():
        account = TestAccount(synthesize("dev", cdk_out), clean_db, enforce_iam=True)
        account.create()
        try:
            yield account
        finally:
            account.close()


def make_due(database_url: str, job_id: str) -> None:
    """The failed job's automatic retry is due now (instead of after its backoff)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE jobs SET run_after = now() - interval '1 second' WHERE uuid = %s", (job_id,)
        )


def failed_import(account: TestAccount, database_url: str, fail: Callable[[int, int], None]) -> str:
    fail(2, 3)
    job_id = upload(account, csv_of(100), 20, database_url)
    output, _ = run_latest(account, INGEST)
    # Retries remain: the failed run leaves the job retry_in_queue (`failed` is final).
    assert output["status"] == "retry_in_queue", output
    return job_id


def test_iam_is_enforced_a_function_cannot_do_what_its_role_does_not_allow(
    account: TestAccount,
) -> None:
    count = account.functions[constants.INGEST_COUNT_FUNCTION.construct_id]
    with account.as_role(count.role_id, count.environment), pytest.raises(ClientError) as denied:
        boto3.client("s3", region_name="us-east-1").put_object(
            Bucket=BUCKET, Key="manifests/x/chunks.json", Body=b"[]"
        )
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_an_upload_runs_through_the_ingest_state_machine(
    account: TestAccount, clean_db: str
) -> None:
    job_id = upload(account, csv_of(50), 5, clean_db)  # API, S3 event, start function
    output, _ = run_latest(account, INGEST)  # plan … finalize, the map readers

    assert output["status"] == "completed", output
    assert table_count(clean_db, "companies") == 50
    ran = {construct for construct, _ in account.calls}
    assert {
        "ApiFunction",
        "IngestStartFunction",
        "IngestPlanFunction",
        "IngestCountFunction",
        "IngestBoundariesFunction",
        "IngestChunkFunction",
        "IngestFinalizeFunction",
    } <= ran
    assert job_status(clean_db, job_id) == "completed"


def test_the_api_retries_a_failed_chunk(
    account: TestAccount, clean_db: str, failing_chunks: Callable[[int, int], None]
) -> None:
    job_id = failed_import(account, clean_db, failing_chunks)

    status, job = api(account, "POST", f"/common/jobs/{job_id}/retry")

    assert status == 200, job
    assert job_status(clean_db, job_id) == "retrying", "the retry could not start"
    output, _ = run_latest(account, INGEST)
    assert output["status"] == "completed", output
    assert table_count(clean_db, "companies") == 100


def test_the_sweeper_retries_a_failed_chunk(
    account: TestAccount, clean_db: str, failing_chunks: Callable[[int, int], None]
) -> None:
    job_id = failed_import(account, clean_db, failing_chunks)
    make_due(clean_db, job_id)

    report = account.invoke(constants.SWEEPER_FUNCTION.construct_id, schedule())

    assert report["launched"] == [job_id], report
    assert job_status(clean_db, job_id) == "retrying", "the retry could not start"
    execution = account.started_executions(INGEST)[-1]
    assert json.loads(execution["input"])["retry_chunks"] == [2]
    output, _ = run_latest(account, INGEST)
    assert output["status"] == "completed", output


def test_an_export_in_parts_assembles_and_deletes_its_parts(
    account: TestAccount, clean_db: str
) -> None:
    account.overrides.update(EXPORT_ROWS_PER_PART="10", EXPORT_MAX_PARTS="3")
    upload(account, csv_of(30), 2, clean_db)
    run_latest(account, INGEST)

    status, job = api(
        account,
        "POST",
        "/common/jobs/create",
        body={"job_type": "export", "entity": "companies", "columns": ["name"]},
    )
    assert status == 201, job
    output, _ = run_latest(account, EXPORT)

    assert output["status"] == "completed" and output["parts"] > 1, output
    s3 = boto3.client("s3", region_name="us-east-1")
    keys = [
        item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")["Contents"]
    ]
    assert keys == [output["export_key"]], "the parts were not deleted"


def test_search_pages_sign_cursors_with_the_cursor_secret(
    account: TestAccount, clean_db: str
) -> None:
    upload(account, csv_of(5), 1, clean_db)
    run_latest(account, INGEST)

    status, page = api(account, "POST", "/companies/", body={"limit": 2})

    assert status == 200, page
    assert page.get("next_cursor") or page.get("meta", {}).get("next_cursor"), page


def test_migrations_run_with_the_migrate_role(account: TestAccount) -> None:
    event = json.loads((Path(__file__).parents[2] / "events" / "migrate_trigger.json").read_text())

    result = account.invoke(constants.MIGRATE_FUNCTION.construct_id, event)

    assert result["revision"]


def test_a_request_without_a_key_is_refused_before_any_aws_call(account: TestAccount) -> None:
    response = account.invoke("ApiFunction", api_request("GET", "/common/jobs/x", key_id=None))

    assert response["statusCode"] == 401
