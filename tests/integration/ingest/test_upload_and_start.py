"""Presigned upload policy, and S3 events → exactly one job and one execution."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from fastapi.testclient import TestClient

from connectra.api.app import create_app
from connectra.ingest.events import ChunkItem, PlanInput
from connectra.jobs import repository as jobs
from connectra.orchestration.launchers import execution_name
from connectra.orchestration.start import handle_object_created
from connectra.settings import DEV_API_KEY, get_settings
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import BUCKET

HEADERS = {"X-API-Key": DEV_API_KEY}


class RecordingLauncher:
    def __init__(self) -> None:
        self.started: dict[str, PlanInput] = {}

    def start_import(self, plan_input: PlanInput, attempt: int) -> bool:
        name = execution_name(plan_input.job_id, attempt)
        if name in self.started:
            return False  # as Step Functions: ExecutionAlreadyExists
        self.started[name] = plan_input
        return True

    def retry_chunks(
        self, plan_input: PlanInput, chunks: Sequence[ChunkItem], attempt: int
    ) -> None:
        raise AssertionError("an upload event never retries chunks")

    def start_export(self, job_id: uuid.UUID, attempt: int) -> None:
        raise AssertionError("an upload event never starts an export")


def object_created(
    events_dir: Path, bucket: str, key: str, etag: str
) -> S3EventNotificationEventBridgeModel:
    event = json.loads((events_dir / "s3_object_created.json").read_text())
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update(key=key, etag=etag)
    return S3EventNotificationEventBridgeModel.model_validate(event)


def test_upload_url_policy_bounds_key_type_and_size(store: ObjectStore, conn: Any) -> None:
    client = TestClient(create_app())

    response = client.get(
        "/common/upload-url",
        params={"filename": "../My Contacts (1).csv", "entity": "contacts"},
        headers=HEADERS,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"] == f"uploads/contacts/{body['job_id']}/My_Contacts_1_.csv"
    policy = json.loads(base64.b64decode(body["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, get_settings().upload_max_bytes] in conditions
    assert {"key": body["key"]} in conditions
    assert ["starts-with", "$key", f"uploads/contacts/{body['job_id']}/"] in conditions
    assert {"Content-Type": "text/csv"} in conditions
    assert {"bucket": BUCKET} in conditions
    job = client.get(f"/common/jobs/{body['job_id']}", headers=HEADERS).json()
    assert job["status"] == "awaiting_upload"


def test_upload_url_rejects_an_unknown_entity(store: ObjectStore) -> None:
    client = TestClient(create_app())
    response = client.get(
        "/common/upload-url", params={"filename": "x.csv", "entity": "people"}, headers=HEADERS
    )
    assert response.status_code == 400


def test_another_callers_job_is_not_found(store: ObjectStore, conn: Any) -> None:
    job_id = uuid.uuid4()
    jobs.create_import_job(
        conn, job_id, entity="contacts", owner_key_id="someone-else", status=jobs.JobStatus.OPEN
    )
    conn.commit()
    response = TestClient(create_app()).get(f"/common/jobs/{job_id}", headers=HEADERS)
    assert response.status_code == 404


def test_duplicate_and_replayed_events_make_one_job_and_one_execution(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    client = TestClient(create_app())
    grant = client.get(
        "/common/upload-url", params={"filename": "c.csv", "entity": "contacts"}, headers=HEADERS
    ).json()
    store.put_bytes(BUCKET, grant["key"], b"email\na@b.co\n", "text/csv")
    etag = store.head(BUCKET, grant["key"]).etag
    launcher = RecordingLauncher()
    event = object_created(events_dir, BUCKET, grant["key"], etag)

    outcomes = [handle_object_created(event, launcher) for _ in range(3)]

    assert [outcome.started for outcome in outcomes] == [True, False, False]
    assert list(launcher.started) == [grant["job_id"]]
    rows = conn.execute("SELECT status, source_etag, owner_key_id FROM jobs").fetchall()
    assert rows == [{"status": "in_queue", "source_etag": etag, "owner_key_id": "dev"}]


def test_events_outside_uploads_or_for_unknown_entities_are_rejected(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    launcher = RecordingLauncher()
    keys = [
        "exports/x.csv",
        f"uploads/people/{uuid.uuid4()}/x.csv",
        "uploads/contacts/not-a-uuid/x.csv",
    ]
    outcomes = [
        handle_object_created(object_created(events_dir, BUCKET, key, "e"), launcher)
        for key in keys
    ]
    assert [outcome.accepted for outcome in outcomes] == [False, False, False]
    assert "unknown entity" in outcomes[1].reason
    assert conn.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"] == 0


def test_an_object_without_presigned_upload_still_becomes_one_job(
    store: ObjectStore, conn: Any, events_dir: Path
) -> None:
    key = f"uploads/companies/{uuid.uuid4()}/direct.csv"
    launcher = RecordingLauncher()
    event = object_created(events_dir, BUCKET, key, "abc")
    first, again = handle_object_created(event, launcher), handle_object_created(event, launcher)
    overwrite = handle_object_created(object_created(events_dir, BUCKET, key, "other"), launcher)
    assert (first.started, again.started, overwrite.accepted) == (True, False, False)
    assert conn.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"] == 1
