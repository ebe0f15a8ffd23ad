"""The synthesized ingest and export state machines, executed with the real handlers.

Each test starts where AWS would: the API function creates the job, the start function
(or the API's retry route) starts an execution in moto, and the synthesized definition of
that state machine runs in `tests.infra.asl` with the handler modules of the synthesized
assets, against the test database and moto S3. The interpreter fails a state whose input
or output, or a Map whose result array, exceeds 256 KiB, as AWS would.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from connectra.api.routes.uploads import MAX_FILENAME
from connectra.ingest import steps
from connectra.local.sample import COMPANY_COLUMNS, company_rows, write_csv
from connectra.settings import Settings
from infra import constants
from tests.infra import asl
from tests.infra.conftest import Synthesized, synthesize
from tests.integration.aws_events import api_request, object_created
from tests.integration.synthesized_app import BUCKET, TestAccount

INGEST = constants.INGEST_STATE_MACHINE_ID
EXPORT = constants.EXPORT_STATE_MACHINE_ID


def largest_chunk_count() -> int:
    """Chunks of the largest upload the API allows, at the smallest configured chunk size."""
    from infra.config import environment_config, load_cdk_json

    environments = load_cdk_json()[constants.CONTEXT_ENVIRONMENTS]
    smallest = min(
        environment_config(environments, name).chunk_size_bytes
        for name in constants.ENVIRONMENT_NAMES
    )
    return -(-Settings().upload_max_bytes // smallest)


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


def _account(synth: Synthesized, database_url: str) -> Iterator[TestAccount]:
    with mock_aws():
        account = TestAccount(synth, database_url, enforce_iam=False)
        account.create()
        try:
            yield account
        finally:
            account.close()


@pytest.fixture
def dev(clean_db: str, cdk_out: Path) -> Iterator[TestAccount]:
    yield from _account(synthesize("dev", cdk_out), clean_db)


@pytest.fixture
def prod(clean_db: str, cdk_out: Path) -> Iterator[TestAccount]:
    yield from _account(synthesize("prod", cdk_out), clean_db)


def csv_of(rows: int) -> bytes:
    buffer = io.StringIO()
    write_csv(buffer, company_rows(rows), COMPANY_COLUMNS)
    return buffer.getvalue().encode()


def api(account: TestAccount, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = account.invoke("ApiFunction", api_request(method, path, **kwargs))
    body = response["body"]
    return response["statusCode"], json.loads(body) if body else None


def upload(
    account: TestAccount,
    body: bytes,
    chunks: int,
    database_url: str,
    filename: str = "companies.csv",
) -> str:
    """As a client would: upload-url, the upload, S3's event to the start function.
    The job's chunk size is then set so the plan cuts exactly `chunks` ranges."""
    status, upload_url = api(
        account,
        "GET",
        "/common/upload-url",
        query={"filename": filename, "entity": "companies"},
    )
    assert status == 200, upload_url
    chunk_size = -(-len(body) // chunks)
    while chunk_size > 1 and -(-len(body) // (chunk_size - 1)) <= chunks:
        chunk_size -= 1
    assert -(-len(body) // chunk_size) == chunks
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE jobs SET data = data || jsonb_build_object('chunk_size', %s::int) "
            "WHERE uuid = %s",
            (chunk_size, upload_url["job_id"]),
        )
    s3 = boto3.client("s3", region_name="us-east-1")
    etag = s3.put_object(Bucket=BUCKET, Key=upload_url["key"], Body=body)["ETag"].strip('"')
    started = account.invoke(
        "IngestStartFunction", object_created(BUCKET, upload_url["key"], len(body), etag)
    )
    assert started["started"], started
    return str(upload_url["job_id"])


def run_latest(account: TestAccount, machine: str) -> tuple[Any, asl.Interpreter]:
    """Run the execution moto recorded last for `machine`, with its recorded input."""
    execution = account.started_executions(machine)[-1]
    return account.run_state_machine(machine, json.loads(execution["input"]), execution["name"])


def table_count(database_url: str, table: str) -> int:
    """Rows in the table: a chunk loaded twice would show as more rows than the file has."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def job_status(database_url: str, job_id: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT status FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    assert row is not None
    return str(row[0])


def largest_state(interpreter: asl.Interpreter) -> int:
    return max(max(r.input_bytes, r.output_bytes) for r in interpreter.trace)


@pytest.fixture
def failing_chunks(monkeypatch: pytest.MonkeyPatch) -> Callable[[int, int], None]:
    """Make chunk `index` raise on its next `times` attempts (a dropped connection)."""
    failures: dict[int, int] = {}
    real_chunk = steps.chunk

    def chunk(event: Any) -> Any:
        if failures.get(event.chunk_index, 0) > 0:
            failures[event.chunk_index] -= 1
            raise ConnectionError(f"injected failure of chunk {event.chunk_index}")
        return real_chunk(event)

    monkeypatch.setattr(steps, "chunk", chunk)

    def fail(index: int, times: int) -> None:
        failures[index] = times

    return fail


def test_the_largest_upload_runs_through_with_every_state_under_256_kib(
    dev: TestAccount, clean_db: str
) -> None:
    chunks = largest_chunk_count()
    assert chunks == 640  # 10 GiB at dev's 16 MiB chunks: the figure of issue 12
    rows = 1_300  # about two rows per chunk: every chunk has records to load
    # The longest name the API keeps: every manifest item carries the object key.
    longest_name = "c" * (MAX_FILENAME - len(".csv")) + ".csv"

    job_id = upload(dev, csv_of(rows), chunks, clean_db, filename=longest_name)
    output, interpreter = run_latest(dev, INGEST)

    assert output["status"] == "completed", output
    assert (output["total"], output["inserted"], output["chunks_done"]) == (rows, rows, chunks)
    assert table_count(clean_db, "companies") == rows
    largest = largest_state(interpreter)
    print(f"\n{chunks} chunks: largest state input/output {largest} bytes")
    assert largest < asl.PAYLOAD_LIMIT_BYTES
    states = {record.name for record in interpreter.trace}
    assert {"RouteRun", "Plan", "CountQuotes", "Boundaries", "LoadChunks", "Finalize"} <= states
    assert job_status(clean_db, job_id) == "completed"


def test_a_chunk_that_fails_once_is_retried_by_the_state_machine(
    dev: TestAccount, clean_db: str, failing_chunks: Callable[[int, int], None]
) -> None:
    failing_chunks(3, 1)

    upload(dev, csv_of(60), 6, clean_db)
    output, interpreter = run_latest(dev, INGEST)

    assert output["status"] == "completed", output
    (retried,) = [r for r in interpreter.trace if r.name == "LoadChunk" and r.attempts > 1]
    assert retried.attempts == 2 and retried.retry_intervals == [10]
    assert table_count(clean_db, "companies") == 60


def test_a_failed_chunk_fails_the_job_and_a_retry_resumes_only_that_chunk(
    dev: TestAccount, clean_db: str, failing_chunks: Callable[[int, int], None]
) -> None:
    failing_chunks(4, 3)  # the first attempt and both retries
    job_id = upload(dev, csv_of(200), 20, clean_db)  # 1 of 20 failed: dev tolerates 10 %

    output, interpreter = run_latest(dev, INGEST)

    # Retries remain: the failed run leaves the job retry_in_queue (`failed` is final).
    assert output["status"] == "retry_in_queue", output
    assert output["chunks_done"] == 19
    loaded_first = table_count(clean_db, "companies")
    assert 0 < loaded_first < 200

    status, retried = api(dev, "POST", f"/common/jobs/{job_id}/retry")
    assert status == 200, retried
    execution = dev.started_executions(INGEST)[-1]
    # The failed run already counted retry 1 (retry_in_queue); the operator's retry is 2.
    assert retried["retry_count"] == 2
    assert execution["name"] == f"{job_id}-retry-2"
    retry_input = json.loads(execution["input"])
    assert retry_input["resume"] == constants.RESUME_LOAD_CHUNKS
    assert retry_input["retry_chunks"] == [4]

    output, interpreter = run_latest(dev, INGEST)

    assert output["status"] == "completed", output
    loads = [r for r in interpreter.trace if r.name == "LoadChunk"]
    assert len(loads) == 1  # only the failed chunk ran again
    assert "Plan" not in {r.name for r in interpreter.trace}
    assert table_count(clean_db, "companies") == 200  # every row once
    assert job_status(clean_db, job_id) == "completed"


def test_without_tolerated_failures_a_failed_chunk_runs_mark_failed(
    prod: TestAccount, clean_db: str, failing_chunks: Callable[[int, int], None]
) -> None:
    failing_chunks(1, 3)
    job_id = upload(prod, csv_of(40), 4, clean_db)

    with pytest.raises(asl.ExecutionFailed) as failure:
        run_latest(prod, INGEST)

    names = [record.name for record in failure.value.trace]
    assert "MarkFailed" in names and names[-1] == "IngestFailed"
    (load_chunks,) = [r for r in failure.value.trace if r.name == "LoadChunks"]
    assert load_chunks.error == "States.ExceedToleratedFailureThreshold"
    # MarkFailed recorded the failure; retries remain, so the job is retry_in_queue
    # (`failed` is final), its error kept.
    assert job_status(clean_db, job_id) == "retry_in_queue"
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT error FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    assert row is not None and row[0]


def test_an_export_created_through_the_api_writes_its_file(dev: TestAccount, clean_db: str) -> None:
    upload(dev, csv_of(30), 2, clean_db)
    run_latest(dev, INGEST)

    status, job = api(
        dev,
        "POST",
        "/common/jobs/create",
        body={"job_type": "export", "entity": "companies", "columns": ["name"]},
    )
    assert status == 201, job
    output, interpreter = run_latest(dev, EXPORT)

    assert [record.name for record in interpreter.trace] == ["Export"]
    assert output["rows"] == 30, output
    body = (
        boto3.client("s3", region_name="us-east-1")
        .get_object(Bucket=BUCKET, Key=output["export_key"])["Body"]
        .read()
    )
    assert body.decode().splitlines()[0] == "name"
    assert len(body.decode().splitlines()) == 31
