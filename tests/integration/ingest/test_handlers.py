"""The Lambda handlers of functions/ingest_chunk, fed the sample events of events/."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from connectra.db.pool import connection
from connectra.jobs import repository as jobs
from connectra.storage.s3 import ObjectStore
from tests.integration.test_api_handler import load_handler

EVENT_JOB = "3f0c2a56-7d0e-4a39-9a52-5d7c1a0b9e41"


def sample_file() -> bytes:
    """301 bytes, 4 quotes, 4 newlines: the file the ingest_* sample events describe."""
    head = 'first_name,last_name,email,title\nAda,Lovelace,ada@example.com,"Analyst, Engines"\n'
    tail = 'Grace,Hopper,grace@example.com,"Rear Admiral"\n'
    pad = 301 - len(head) - len(tail) - len("x,y,xy@example.com,\n")
    body = (head + "x,y,xy@example.com," + "T" * pad + "\n" + tail).encode()
    assert (len(body), body.count(b'"'), body.count(b"\n")) == (301, 4, 4)
    return body


def event(events_dir: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((events_dir / name).read_text())
    return loaded


@pytest.fixture
def event_upload(store: ObjectStore, s3: Any, events_dir: Path) -> dict[str, Any]:
    """The object and job named by the sample events, as after the S3 event."""
    plan = event(events_dir, "ingest_plan.json")
    if plan["bucket"] != store.client.meta.region_name and plan["bucket"] not in {
        bucket["Name"] for bucket in s3.list_buckets()["Buckets"]
    }:
        s3.create_bucket(Bucket=plan["bucket"])
    store.put_bytes(plan["bucket"], plan["key"], sample_file(), "text/csv")
    with connection() as conn:
        jobs.create_import_job(
            conn,
            uuid.UUID(plan["job_id"]),
            entity="contacts",
            owner_key_id="dev",
            status=jobs.JobStatus.IN_QUEUE,
            source_bucket=plan["bucket"],
            source_key=plan["key"],
        )
    return plan


def test_each_step_handler_accepts_its_sample_event(
    event_upload: dict[str, Any], events_dir: Path, lambda_context: Any, conn: Any
) -> None:
    handlers = {
        name: load_handler(f"functions/ingest_chunk/{name}.py")
        for name in ("plan", "count", "boundaries", "chunk", "finalize")
    }

    planned = handlers["plan"].handler(event(events_dir, "ingest_plan.json"), lambda_context)
    counted = handlers["count"].handler(event(events_dir, "ingest_count.json"), lambda_context)
    bounds = handlers["boundaries"].handler(
        event(events_dir, "ingest_boundaries.json"), lambda_context
    )
    chunk = handlers["chunk"].handler(event(events_dir, "ingest_chunk.json"), lambda_context)
    summary = handlers["finalize"].handler(
        event(events_dir, "ingest_finalize.json"), lambda_context
    )

    assert planned["chunk_count"] == 1
    assert counted == {"chunk_index": 0, "quotes": 4, "newlines": 4}
    assert bounds["manifest_key"] == f"manifests/{EVENT_JOB}/chunks.json"
    assert chunk == {
        "chunk_index": 0,
        "rows": 3,
        "inserted": 3,
        "updated": 0,
        "failed": 0,
        "duplicates": 0,
    }
    assert (summary["status"], summary["total"]) == ("completed", 3)
    # The infra's Map item sample is the same chunk: a retry of a done chunk is a no-op.
    assert (
        handlers["chunk"].handler(event(events_dir, "ingest_chunk_item.json"), lambda_context)
        == chunk
    )
    title = conn.execute("SELECT title FROM contacts WHERE email = 'ada@example.com'").fetchone()
    assert title == {"title": "Analyst, Engines"}


def test_start_handler_starts_one_execution_for_the_sample_event(
    store: ObjectStore,
    s3: Any,
    events_dir: Path,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    sample = event(events_dir, "s3_object_created.json")
    bucket, key = sample["detail"]["bucket"]["name"], sample["detail"]["object"]["key"]
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="ingest",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/ingest",
    )["stateMachineArn"]
    monkeypatch.setenv("INGEST_STATE_MACHINE_ARN", machine)
    from connectra.settings import get_settings

    get_settings.cache_clear()
    start = load_handler("functions/ingest_chunk/start.py")

    first = start.handler(sample, lambda_context)
    replay = start.handler(sample, lambda_context)

    job_id = key.split("/")[2]
    assert (first["accepted"], first["started"], first["job_id"]) == (True, True, job_id)
    # Same name + same input is idempotent in Step Functions (or ExecutionAlreadyExists).
    assert (replay["accepted"], replay["job_id"]) == (True, job_id)
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [execution["name"] for execution in executions] == [job_id]
    get_settings.cache_clear()
