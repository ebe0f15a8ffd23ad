"""The local stack over HTTP: `stack up` serves the API with sample data, imports a CSV
uploaded through a presigned POST, and `stack down` stops everything it started."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from connectra.local import postgres
from connectra.settings import DEV_API_KEY
from tests.conftest import ROOT

# Overridable so that several checkouts can run the e2e tests on one machine at once.
API_PORT = int(os.environ.get("E2E_API_PORT", "18000"))
S3_PORT = int(os.environ.get("E2E_S3_PORT", "15001"))
HEADERS = {"X-API-Key": DEV_API_KEY}


def stack_command(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connectra.local.stack", action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def stack_database() -> Iterator[str]:
    """A database of its own: `stack up` seeds the sample only into an empty one."""
    server = postgres.server_url()
    name = f"connectra_e2e_{uuid.uuid4().hex[:8]}"
    url = postgres.ensure_database(postgres.with_database(server, name))
    yield url
    with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(
    stack_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("stack-run")
    env = dict(
        os.environ,
        DATABASE_URL=stack_database,
        API_PORT=str(API_PORT),
        LOCAL_S3_PORT=str(S3_PORT),
        LOCAL_RUN_DIR=str(run_dir),
        S3_BUCKET="connectra-e2e",
    )
    started = stack_command("up", env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield {"env": env, "run_dir": run_dir, "output": started.stdout}
    finally:
        stack_command("down", env)


@pytest.fixture
def api(stack: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=30) as client:
        yield client


def test_up_prints_where_everything_is(stack: dict[str, Any]) -> None:
    output = stack["output"]
    assert f"http://127.0.0.1:{API_PORT}/docs" in output
    assert DEV_API_KEY in output
    assert "make stop" in output


def test_health_and_docs_are_served(api: httpx.Client) -> None:
    assert api.get("/health").json()["status"] == "ok"
    health = api.get("/health/deep", headers=HEADERS)
    assert health.status_code == 200
    assert health.json()["database"]["ok"] is True
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_sample_data_is_searchable(api: httpx.Client) -> None:
    response = api.post("/contacts/count", json={"exact_count": True}, headers=HEADERS)
    assert response.status_code == 200
    assert response.json()["count"] >= 5_000
    page = api.post("/contacts/", json={"limit": 5}, headers=HEADERS)
    assert page.status_code == 200 and len(page.json()["data"]) == 5


def test_an_uploaded_csv_is_imported_by_the_runner(api: httpx.Client, tmp_path: Path) -> None:
    csv_body = (
        "First Name,Last Name,Email,Title\n"
        "Ada,Lovelace,ada@e2e-analytical.io,Chief Algorithm Officer\n"
        'Grace,Hopper,grace@e2e-navy.mil,"Rear Admiral, Compilers"\n'
        "Bad,Row,not-an-email,Nobody\n"
    )
    ticket = api.get(
        "/common/upload-url",
        params={"filename": "people.csv", "entity": "contacts"},
        headers=HEADERS,
    )
    assert ticket.status_code == 200, ticket.text
    upload = ticket.json()
    posted = httpx.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("people.csv", csv_body.encode(), "text/csv")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text

    job: dict[str, Any] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = api.get(f"/common/jobs/{upload['job_id']}", headers=HEADERS).json()
        if job.get("status") in ("completed", "completed_with_errors", "failed"):
            break
        time.sleep(0.5)
    assert job.get("status") == "completed_with_errors", job
    found = api.post(
        "/contacts/",
        json={"where": {"keyword_match": {"must": {"email": "ada@e2e-analytical.io"}}}},
        headers=HEADERS,
    ).json()
    assert [row["last_name"] for row in found["data"]] == ["Lovelace"]


def connectra_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `connectra` command as a user runs it, against the local stack's API."""
    return subprocess.run(
        [sys.executable, "-m", "connectra.cli.main", *args],
        cwd=ROOT,
        env={**env, "CONNECTRA_API_URL": f"http://127.0.0.1:{API_PORT}"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_cli_imports_a_file_and_exports_the_rows_back(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "cli-people.csv"
    source.write_text(
        "Email,Title,Departments\n"
        + "".join(f"cli{index}@e2e-cli.io,Engineer {index},R&D; Ops\n" for index in range(30))
    )
    imported = connectra_cli(
        "import", str(source), "--entity", "contacts", "--interval", "0.2", env=stack["env"]
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr

    query = tmp_path / "query.json"
    query.write_text(
        json.dumps(
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {
                                "text_value": "e2e-cli.io",
                                "filter_key": "email",
                                "search_type": "substring",
                            }
                        ]
                    }
                }
            }
        )
    )
    output = tmp_path / "out.csv"
    exported = connectra_cli(
        "export",
        "--vql",
        str(query),
        "-o",
        str(output),
        "--columns",
        "email,title,departments",
        "--interval",
        "0.2",
        "--timeout",
        "120",
        env=stack["env"],
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr

    with output.open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["email"])
    assert [row["email"] for row in rows] == sorted(f"cli{i}@e2e-cli.io" for i in range(30))
    assert rows[0]["title"] == "Engineer 0"
    assert "R&D" in rows[0]["departments"] and "Ops" in rows[0]["departments"]


def test_down_stops_everything_it_started(stack: dict[str, Any]) -> None:
    pids = [int(path.read_text()) for path in Path(stack["run_dir"]).glob("*.pid")]
    assert pids, "stack up wrote no pid files"
    stopped = stack_command("down", stack["env"])
    assert stopped.returncode == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{API_PORT}/health", timeout=2)
