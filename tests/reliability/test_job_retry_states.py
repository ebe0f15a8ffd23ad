"""A failure with retries left is its own state (issue 11 D14 and item 6).

On main a job whose run failed showed `failed` (retry count 0) until the sweeper queued
its retry, and `connectra import --wait` stopped there with zero totals and a non-zero
exit while the import was about to succeed. Now the job reads `retry_in_queue` (with its
error and when the next attempt is due) and only `failed` is final; the CLI follows the
job through its retries and waits out a busy API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connectra.cli import importer
from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.orchestration.sweeper import sweep
from connectra.settings import DEV_API_KEY
from connectra.storage.s3 import ObjectStore
from tests.integration.jobs.conftest import job_row
from tests.integration.jobs.test_retries import failing_chunk, first_run, make_due

ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_run_with_retries_left_reads_retry_in_queue_then_completes(
    store: ObjectStore, conn: Any, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_chunk(monkeypatch, failures=1, message="worker lost")
    job_id = first_run(store, conn)

    view = api.get(f"/common/jobs/{job_id}", headers={"X-API-Key": DEV_API_KEY}).json()
    assert view["status"] == "retry_in_queue"
    assert "worker lost" in view["error"]
    assert (view["retry_count"], view["max_retries"]) == (1, 3)
    assert view["next_attempt_at"] is not None
    assert view["finished_at"] is None  # not an end

    make_due(conn, job_id)
    sweep(LocalLauncher(make_executor(1)))
    done = job_row(conn, job_id)
    assert (done["status"], done["inserted_rows"], done["error"]) == ("completed", 60, None)


def test_only_an_exhausted_job_reads_failed(
    store: ObjectStore, conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_chunk(monkeypatch, failures=100, message="disk on fire")
    job_id = first_run(store, conn, max_retries=1)
    assert job_row(conn, job_id)["status"] == "retry_in_queue"
    make_due(conn, job_id)
    sweep(LocalLauncher(make_executor(1)))
    final = job_row(conn, job_id)
    assert (final["status"], final["retry_count"]) == ("failed", 1)
    assert final["finished_at"] is not None


def _view(status: str, **extra: Any) -> dict[str, Any]:
    inserted = 200_000 if status == "completed" else 0
    return {
        "job_id": "j-1",
        "status": status,
        "chunks": {"done": 3 if status == "completed" else 1, "failed": 0, "total": 3},
        "counts": {
            "total": inserted,
            "inserted": inserted,
            "updated": 0,
            "duplicates": 0,
            "failed": 0,
        },
        "error": None,
        "error_report_url": None,
        "notices": [],
        "retry_count": 0,
        "max_retries": 3,
        **extra,
    }


@pytest.fixture
def scripted_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The API as the CLI sees it through a killed worker's import: processing, the retry
    state, a busy moment (503), retrying, completed. Yields the statuses served."""
    stalled = "the job's heartbeat stopped (worker lost); it will be retried"
    script: list[httpx.Response] = [
        httpx.Response(200, json=_view("processing")),
        httpx.Response(200, json=_view("retry_in_queue", error=stalled, retry_count=1)),
        httpx.Response(503, json={"error": "service_unavailable"}, headers={"Retry-After": "0"}),
        httpx.Response(200, json=_view("retrying", retry_count=1)),
        httpx.Response(200, json=_view("completed", retry_count=1)),
    ]
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/common/upload-url":
            return httpx.Response(200, json={"job_id": "j-1", "url": "http://s3/up", "fields": {}})
        if request.url.path == "/up":
            return httpx.Response(204)
        response = script.pop(0)
        served.append(json.loads(response.content).get("status", str(response.status_code)))
        return response

    transport = httpx.MockTransport(handler)
    real_client = httpx.Client

    def client(*args: Any, **kwargs: Any) -> httpx.Client:
        return real_client(*args, **{**kwargs, "transport": transport})

    monkeypatch.setattr(importer.httpx, "Client", client)
    monkeypatch.setattr(importer.time, "sleep", lambda _seconds: None)
    yield served


def test_import_wait_follows_the_job_through_its_retry(
    scripted_api: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "contacts.csv"
    data.write_text("email\na@example.com\n")
    app = importer.typer.Typer()
    app.command()(importer.import_file)
    result = CliRunner().invoke(app, [str(data), "--entity", "contacts", "--wait"])
    assert result.exit_code == 0, result.output
    assert scripted_api[-1] == "completed"
    assert "retry_in_queue" in scripted_api
    assert "200,000" in result.output


def test_the_pick_up_bound_of_a_killed_workers_job_is_documented() -> None:
    text = (ROOT / "docs" / "jobs.md").read_text()
    assert "retry_in_queue" in text
    assert "JOB_HEARTBEAT_TIMEOUT_SECONDS" in text
