"""The jobs API: idempotent create, ownership, listing, retry/cancel, export end to end."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.orchestration.sweeper import sweep
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore
from tests.api_app import fresh_app
from tests.integration.export.conftest import insert_contacts
from tests.integration.ingest.conftest import BUCKET

ALICE = {"X-API-Key": "alice-key"}
BOB = {"X-API-Key": "bob-key"}
EXPORT = {
    "job_type": "export",
    "entity": "contacts",
    "vql": {"where": {"keyword_match": {"must": {"seniority": "lead"}}}},
    "columns": ["uuid", "email", "title"],
}


@pytest.fixture
def client(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("API_KEYS", '{"alice-key": "alice", "bob-key": "bob"}')
    get_settings.cache_clear()
    with TestClient(fresh_app()) as test_client:
        yield test_client
    get_settings.cache_clear()


def create(client: TestClient, body: dict[str, Any], key: str | None, who: Any = ALICE) -> Any:
    headers = {**who, **({"Idempotency-Key": key} if key else {})}
    return client.post("/common/jobs/create", json=body, headers=headers)


def test_same_idempotency_key_and_body_give_the_same_job(client: TestClient) -> None:
    first = create(client, EXPORT, "k-1")
    again = create(client, EXPORT, "k-1")
    other_body = create(client, {**EXPORT, "gzip": True}, "k-1")
    bobs = create(client, EXPORT, "k-1", who=BOB)  # keys are scoped per caller
    no_key = [create(client, EXPORT, None) for _ in range(2)]

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["job_id"] == first.json()["job_id"]
    assert first.json()["status"] == "open"
    assert other_body.status_code == 409 and other_body.json()["error"] == "conflict"
    assert bobs.status_code == 201 and bobs.json()["job_id"] != first.json()["job_id"]
    assert len({response.json()["job_id"] for response in no_key}) == 2


def test_a_bad_export_request_is_a_400_naming_the_path(client: TestClient) -> None:
    response = create(client, {**EXPORT, "columns": ["uuid", "salary"]}, None)

    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "columns[1]"


def test_another_callers_job_is_a_404_everywhere(client: TestClient) -> None:
    job_id = create(client, EXPORT, None).json()["job_id"]

    for method, path in (
        ("GET", f"/common/jobs/{job_id}"),
        ("POST", f"/common/jobs/{job_id}/retry"),
        ("POST", f"/common/jobs/{job_id}/cancel"),
    ):
        assert client.request(method, path, headers=BOB).status_code == 404
    assert client.post("/common/jobs", json={}, headers=BOB).json()["data"] == []
    assert client.get(f"/common/jobs/{job_id}", headers=ALICE).status_code == 200


def test_listing_filters_and_pages_the_callers_jobs(client: TestClient, store: ObjectStore) -> None:
    store.put_bytes(BUCKET, "uploads/contacts/manual/list.csv", b"email\na@b.example\n", "text/csv")
    made = [create(client, EXPORT, None).json()["job_id"] for _ in range(5)]
    imported = create(
        client,
        {"job_type": "import", "entity": "contacts", "s3_key": "uploads/contacts/manual/list.csv"},
        None,
    )
    assert imported.status_code == 201
    client.post(f"/common/jobs/{made[0]}/cancel", headers=ALICE)

    seen: list[str] = []
    cursor = None
    while True:
        page = client.post(
            "/common/jobs", json={"job_type": "export", "limit": 2, "cursor": cursor}, headers=ALICE
        ).json()
        seen += [job["job_id"] for job in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    cancelled = client.post("/common/jobs", json={"status": ["cancelled"]}, headers=ALICE).json()

    assert sorted(seen) == sorted(made) and len(seen) == 5  # no gap, no repeat
    assert [job["job_id"] for job in cancelled["data"]] == [made[0]]


def test_retry_and_cancel_are_guarded(client: TestClient) -> None:
    job_id = create(client, EXPORT, None).json()["job_id"]

    refused = client.post(f"/common/jobs/{job_id}/retry", headers=ALICE)
    cancelled = client.post(f"/common/jobs/{job_id}/cancel", headers=ALICE)
    twice = client.post(f"/common/jobs/{job_id}/cancel", headers=ALICE)

    assert refused.status_code == 409 and "open" in refused.json()["message"]
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert twice.status_code == 409


def test_an_export_job_runs_and_its_download_link_serves_the_file(
    client: TestClient, conn: Any, s3: Any
) -> None:
    insert_contacts(conn, 400, companies=0)
    conn.commit()
    job_id = create(client, EXPORT, "export-1").json()["job_id"]

    report = sweep(LocalLauncher(make_executor(1)))
    view = client.get(f"/common/jobs/{job_id}", headers=ALICE).json()

    assert report.launched == [job_id]
    assert view["status"] == "completed" and view["counts"]["total"] == 100
    url = view["download_url"]
    assert url and "X-Amz-Signature" in url
    body = s3.get_object(Bucket=BUCKET, Key=f"exports/{job_id}/contacts.csv")["Body"].read()
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["uuid", "email", "title"] and len(rows) == 101
