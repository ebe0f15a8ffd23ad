"""The original's job API and upload flow (issue 17, items 4 and 5): `insert_csv_file` /
`export_csv_file` with `data`, its statuses and job shape, the two-step upload (URL,
upload, job create) without a double import, and a presigned PUT whose size is checked
when the import starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.orchestration.start import handle_object_created
from connectra.orchestration.sweeper import sweep
from connectra.settings import get_settings
from tests.compat.documents import SYSTEM_JOB_LIST
from tests.integration.ingest.conftest import BUCKET, s3

__all__ = ["s3"]  # the fixture: in-process moto S3 on a clean database
from tests.api_app import fresh_app
from tests.integration.ingest.test_upload_and_start import RecordingLauncher, object_created

ALICE = {"X-API-Key": "alice-key"}
BOB = {"X-API-Key": "bob-key"}
CSV = (
    b"First Name,Last Name,Email,Title\n"
    b"Ada,Lovelace,ada@example.com,Engineer\n"
    b"Bad,Row,not-an-email,Engineer\n"
    b"Alan,Turing,alan@example.com,Scientist\n"
)
LEGACY_JOB_KEYS = {
    "id",
    "uuid",
    "job_type",
    "data",
    "status",
    "job_response",
    "retry_count",
    "retry_interval",
    "run_after",
    "created_at",
    "updated_at",
}


@pytest.fixture
def api(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("API_KEYS", '{"alice-key": "alice", "bob-key": "bob"}')
    get_settings.cache_clear()
    with TestClient(fresh_app()) as client:
        client.headers.update(ALICE)
        yield client


def upload(api: TestClient, body: bytes, **params: str) -> dict[str, Any]:
    """Ask for an upload URL as the original's clients do, and PUT the file to it."""
    grant = api.get("/common/upload-url", params={"filename": "contacts.csv", **params})
    assert grant.status_code == 200, grant.text
    url: dict[str, Any] = grant.json()
    put = requests.put(
        url["put_url"], data=body, headers={"Content-Type": url["content_type"]}, timeout=10
    )
    assert put.status_code == 200, put.text
    return url


def run_jobs() -> list[str]:
    return sweep(LocalLauncher(make_executor(1))).launched


def legacy_create(api: TestClient, key: str, **data: Any) -> Any:
    return api.post(
        "/common/jobs/create",
        json={
            "job_type": "insert_csv_file",
            "data": {"s3_key": key, "service": "contacts", **data},
        },
    )


def test_the_two_step_flow_imports_once_and_answers_in_the_original_shape(
    api: TestClient, events_dir: Path
) -> None:
    # Given a file uploaded to a URL asked for without an entity
    url = upload(api, CSV)
    assert url["staged"] is True and url["key"].startswith("uploads/staged/")
    launcher = RecordingLauncher()
    event = handle_object_created(object_created(events_dir, BUCKET, url["key"], "e1"), launcher)
    assert (event.accepted, event.reason, launcher.started) == (False, "staged", {})

    # When the client creates the job, twice (a retrying client)
    first = legacy_create(api, url["key"])
    second = legacy_create(api, url["key"])

    # Then one job, with the id the upload URL announced, in the original's shape
    assert first.status_code == 201, first.text
    assert second.status_code == 200
    job = first.json()
    assert set(job) >= LEGACY_JOB_KEYS
    assert job["uuid"] == second.json()["uuid"] == str(url["job_id"])
    assert job["job_type"] == "insert_csv_file"
    assert job["data"] == {"s3_key": url["key"], "service": "contacts"}
    assert job["status"] == "open" and job["job_response"]["runtime_errors"] == []
    assert job["retry_interval"] == get_settings().job_retry_interval_seconds

    # And it runs once; a poller waiting for completed/failed sees completed, with the
    # row error in job_response.runtime_errors
    assert run_jobs() == [job["uuid"]]
    assert run_jobs() == []
    done = api.get(f"/common/jobs/{job['uuid']}").json()
    assert done["status"] == "completed"
    assert done["job_response"]["counts"] == {"total": 3, "inserted": 2, "updated": 0, "failed": 1}
    assert any(e.startswith("line 3") for e in done["job_response"]["runtime_errors"])
    assert api.post("/contacts/count", json={}).json()["count"] == 2


def test_creating_a_job_for_an_upload_with_an_entity_returns_the_upload_s_job(
    api: TestClient, events_dir: Path
) -> None:
    url = upload(api, CSV, entity="contacts")
    launcher = RecordingLauncher()
    started = handle_object_created(object_created(events_dir, BUCKET, url["key"], "e1"), launcher)

    created = api.post(
        "/common/jobs/create",
        json={"job_type": "import", "entity": "contacts", "s3_key": url["key"]},
    )

    assert started.started is True
    assert created.status_code == 200, created.text
    assert created.json()["job_id"] == url["job_id"]  # not a second import of the file
    listed = api.post("/common/jobs", json={}).json()["data"]
    assert [job["job_id"] for job in listed] == [url["job_id"]]


def test_another_caller_cannot_import_a_staged_file(api: TestClient) -> None:
    url = upload(api, CSV)

    response = api.post(
        "/common/jobs/create",
        json={"job_type": "insert_csv_file", "data": {"s3_key": url["key"], "service": "contacts"}},
        headers=BOB,
    )

    assert response.status_code == 404


def test_a_staged_file_over_the_size_limit_is_refused_at_job_start(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = upload(api, CSV)
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(CSV) - 1))
    get_settings.cache_clear()

    response = legacy_create(api, url["key"])

    assert response.status_code == 413
    assert response.json()["details"] == {"size": len(CSV), "max_bytes": len(CSV) - 1}
    assert api.post("/common/jobs", json={}).json()["data"] == []


def test_a_put_upload_over_the_size_limit_fails_its_job_for_good(
    api: TestClient, events_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = upload(api, CSV, entity="contacts")
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "10")
    get_settings.cache_clear()
    launcher = RecordingLauncher()

    outcome = handle_object_created(
        object_created(events_dir, BUCKET, url["key"], "e1").model_copy(deep=True), launcher
    )

    assert outcome.accepted is False and launcher.started == {}
    job = api.get(f"/common/jobs/{url['job_id']}").json()
    assert job["status"] == "failed" and "at most 10" in job["error"]
    assert job["retry_count"] == job["max_retries"]  # the sweeper will not retry it


def test_a_legacy_export_job_runs_and_links_its_file(api: TestClient) -> None:
    for index in range(3):
        api.post("/contacts/create", json={"email": f"p{index}@example.com", "seniority": "lead"})

    created = api.post(
        "/common/jobs/create",
        json={
            "job_type": "export_csv_file",
            "data": {
                "service": "contacts",
                "vql": {"where": {"keyword_match": {"must": {"seniority": "lead"}}}},
                "select_columns": ["email"],
            },
            "retry_count": 0,
        },
    )

    assert created.status_code == 201, created.text
    job = created.json()
    assert job["job_type"] == "export_csv_file" and set(job) >= LEGACY_JOB_KEYS
    assert run_jobs() == [job["uuid"]]
    done = api.get(f"/common/jobs/{job['uuid']}").json()
    assert done["status"] == "completed"
    assert done["job_response"]["counts"]["total"] == 3
    assert "X-Amz-Signature" in done["job_response"]["download_url"]


def test_legacy_request_errors_name_the_data_key(api: TestClient) -> None:
    missing_entity = api.post(
        "/common/jobs/create",
        json={"job_type": "insert_csv_file", "data": {"s3_key": "uploads/staged/x/y/z.csv"}},
    )
    unknown_type = api.post("/common/jobs/create", json={"job_type": "insert_xml_file", "data": {}})

    assert missing_entity.status_code == 400
    assert missing_entity.json()["details"][0]["path"] == "data.entity"
    assert unknown_type.status_code == 400


def test_the_system_doc_job_list_example_and_legacy_filters(api: TestClient) -> None:
    url = upload(api, CSV)
    job_id = legacy_create(api, url["key"]).json()["uuid"]
    run_jobs()

    listed = api.post("/common/jobs", json=SYSTEM_JOB_LIST)
    by_type = api.post("/common/jobs", json={"job_type": "insert_csv_file"})
    retrying = api.post("/common/jobs", json={"status": ["retry_in_queued"]})

    assert listed.status_code == 200, listed.text
    assert [job["job_id"] for job in listed.json()["data"]] == [job_id]
    assert listed.json()["data"][0]["job_type"] == "insert_csv_file"
    assert [job["job_id"] for job in by_type.json()["data"]] == [job_id]
    assert retrying.status_code == 200 and retrying.json()["data"] == []


def test_jobs_created_in_today_s_form_keep_today_s_shape(api: TestClient) -> None:
    url = upload(api, CSV)
    created = api.post(
        "/common/jobs/create",
        json={"job_type": "import", "entity": "contacts", "s3_key": url["key"]},
    )
    run_jobs()
    view = api.get(f"/common/jobs/{created.json()['job_id']}").json()

    assert created.status_code == 201
    assert "job_response" not in created.json() and "job_response" not in view
    assert view["status"] == "completed_with_errors"


def test_unknown_jobs_are_404_in_both_forms(api: TestClient) -> None:
    assert api.get(f"/common/jobs/{uuid.uuid4()}").status_code == 404
