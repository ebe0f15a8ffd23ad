"""The dry run through the API (`POST /common/imports/dry-run`) and the CLI (`connectra
import FILE --dry-run`): the mapping used, sample rows, row errors with their lines and
the counts an import would produce (inserted vs updated looked up read-only), while
writing nothing: every table's row count and the bucket stay as they were; the import
run afterwards produces the counts the dry run announced."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connectra.api.app import create_app
from connectra.api.deps import get_limiter
from connectra.api.routes.records import _default_engine
from connectra.cli.main import app as cli_app
from connectra.db.pool import connection
from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor
from connectra.orchestration.sweeper import sweep
from connectra.settings import get_settings
from tests.integration.ingest.conftest import BUCKET

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendor"
APOLLO = (FIXTURES / "apollo.csv").read_bytes()
ALICE = {"X-API-Key": "alice-key"}
BOB = {"X-API-Key": "bob-key"}


@pytest.fixture
def api(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("API_KEYS", '{"alice-key": "alice", "bob-key": "bob"}')
    get_settings.cache_clear()
    get_limiter.cache_clear()
    _default_engine.cache_clear()
    with TestClient(create_app()) as client:
        client.headers.update(ALICE)
        yield client
    get_limiter.cache_clear()


def upload(api: TestClient, body: bytes, **params: str) -> dict[str, Any]:
    grant = api.get("/common/upload-url", params={"filename": "people.csv", **params})
    assert grant.status_code == 200, grant.text
    url: dict[str, Any] = grant.json()
    put = requests.put(
        url["put_url"], data=body, headers={"Content-Type": url["content_type"]}, timeout=10
    )
    assert put.status_code == 200, put.text
    return url


def table_counts() -> dict[str, int]:
    """Every table's row count (the usage meter aside: it counts the requests themselves)."""
    with connection() as conn:
        tables = [
            row["tablename"]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('consumer_usage', 'rate_limit_windows') ORDER BY 1"
            ).fetchall()
        ]
        return {
            name: conn.execute(f'SELECT count(*) AS n FROM "{name}"').fetchone()["n"]  # type: ignore[index]
            for name in tables
        }


def bucket_listing(s3: Any) -> list[tuple[str, str]]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted((item["Key"], item["ETag"]) for item in listed)


def store_existing_records(api: TestClient) -> None:
    """Ada is stored (her email), and analytical.example under a uuid not its natural one:
    an import updates both, and inserts Charles, Grace and Compilers Inc."""
    company = api.post(
        "/companies/create",
        json={"uuid": str(uuid.uuid4()), "name": "AE", "normalized_domain": "analytical.example"},
    )
    assert company.status_code in (200, 201), company.text
    ada = api.post("/contacts/create", json={"first_name": "A", "email": "Ada@analytical.example"})
    assert ada.status_code in (200, 201), ada.text


def test_the_api_dry_run_reports_what_the_import_then_does_and_writes_nothing(
    api: TestClient, s3: Any
) -> None:
    store_existing_records(api)
    url = upload(api, APOLLO)  # staged: no job until jobs/create
    before, objects = table_counts(), bucket_listing(s3)

    response = api.post(
        "/common/imports/dry-run",
        json={"entity": "contacts", "s3_key": url["key"], "preset": "apollo"},
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["mapping"]["Person Linkedin Url"] == "linkedin_url"
    assert report["mapping"]["# Employees"] == "company_employees_count"
    assert report["mapping"]["Apollo Contact Id"] is None
    assert report["counts"] == {
        "rows": 4,
        "valid": 3,
        "failed": 1,
        "records": 3,
        "duplicates": 0,
        "companies": 2,
        "inserted": 2,
        "updated": 1,
        "companies_inserted": 1,
        "companies_updated": 1,
    }
    assert report["existing_checked"] is True
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(5, "Annual Revenue")]
    first = report["samples"][0]
    assert (first["line"], first["email"], first["seniority"]) == (
        2,
        "ada@analytical.example",
        "vp",
    )
    assert first["company"]["normalized_domain"] == "analytical.example"
    assert first["company"]["employees_count"] == 51
    assert table_counts() == before
    assert bucket_listing(s3) == objects

    # The import itself produces the counts the dry run announced.
    created = api.post(
        "/common/jobs/create",
        json={"job_type": "import", "entity": "contacts", "s3_key": url["key"], "preset": "apollo"},
    )
    assert created.status_code == 201, created.text
    assert sweep(LocalLauncher(make_executor(1))).launched == [created.json()["job_id"]]
    job = api.get(f"/common/jobs/{created.json()['job_id']}").json()
    counts = job["counts"]
    assert (counts["inserted"], counts["updated"], counts["failed"]) == (2, 1, 1)
    assert counts["companies"] == {"inserted": 1, "updated": 1}


def test_the_api_dry_run_stops_after_max_rows(api: TestClient) -> None:
    url = upload(api, APOLLO, entity="contacts")

    report = api.post(
        "/common/imports/dry-run",
        json={"entity": "contacts", "s3_key": url["key"], "preset": "apollo", "max_rows": 2},
    ).json()

    assert report["truncated"] is True
    assert (report["counts"]["rows"], report["counts"]["inserted"]) == (2, 2)
    assert [sample["line"] for sample in report["samples"]] == [2, 3]


@pytest.mark.parametrize(
    ("request_body", "path"),
    [
        ({"preset": "apolo"}, "preset"),
        ({"preset": "hubspot", "entity": "companies"}, "preset"),
        ({"mapping": {"Email": "e_mail"}}, "mapping.Email"),
        ({"mapping": {"Email": "email", "Company Name for Emails": "email"}}, None),
        ({"max_rows": 0}, "max_rows"),
    ],
)
def test_a_bad_dry_run_request_is_a_400_naming_the_field(
    api: TestClient, request_body: dict[str, Any], path: str | None
) -> None:
    url = upload(api, APOLLO)

    response = api.post(
        "/common/imports/dry-run",
        json={"entity": "contacts", "s3_key": url["key"], **request_body},
    )

    assert response.status_code == 400, response.text
    paths = [detail["path"] for detail in response.json()["details"]]
    if path is None:  # two columns on one field: the second one is named
        assert paths == ["mapping.Company Name for Emails"]
        assert "already fed by the column 'Email'" in response.text
    else:
        assert path in paths


def test_a_dry_run_of_a_missing_or_another_callers_upload_is_a_404(api: TestClient) -> None:
    staged = upload(api, APOLLO)
    direct = upload(api, APOLLO, entity="contacts")
    missing = f"uploads/contacts/{uuid.uuid4()}/people.csv"

    def dry_run(key: str, headers: dict[str, str]) -> int:
        body = {"entity": "contacts", "s3_key": key}
        return api.post("/common/imports/dry-run", json=body, headers=headers).status_code

    assert dry_run(missing, ALICE) == 404
    assert dry_run("uploads/../../etc/passwd", ALICE) == 404
    assert dry_run(staged["key"], BOB) == 404
    assert dry_run(direct["key"], BOB) == 404
    assert dry_run(staged["key"], ALICE) == dry_run(direct["key"], ALICE) == 200


def test_a_dry_run_of_a_file_without_a_known_column_is_a_400_naming_s3_key(
    api: TestClient,
) -> None:
    url = upload(api, b"Lead Score,Favourite Colour\n1,green\n", entity="contacts")

    response = api.post(
        "/common/imports/dry-run", json={"entity": "contacts", "s3_key": url["key"]}
    )

    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "s3_key"


# -- the CLI ------------------------------------------------------------------------------


def cli_dry_run(path: Path, *options: str) -> Any:
    result = CliRunner().invoke(
        cli_app,
        ["import", str(path), "--entity", "contacts", "--dry-run", *options],
        env={"COLUMNS": "200"},
    )
    return result


def test_the_cli_dry_run_reports_the_split_from_the_database_and_writes_nothing(
    api: TestClient, tmp_path: Path, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_existing_records(api)
    monkeypatch.setenv("DATABASE_URL", clean_db)
    data = tmp_path / "apollo.csv"
    data.write_bytes(APOLLO)
    before = table_counts()

    result = cli_dry_run(data, "--preset", "apollo")

    assert result.exit_code == 0, result.output
    lines = {line.strip("│ ").split("│")[0].strip(): line for line in result.output.splitlines()}
    for name, value in {"rows": 4, "failed": 1, "inserted": 2, "updated": 1}.items():
        assert lines[name].split("│")[-2].strip() == str(value), result.output
    assert lines["companies_inserted"].split("│")[-2].strip() == "1"
    assert "line 5" in result.output and "Annual Revenue" in result.output
    assert "could not tell" not in result.output
    assert table_counts() == before


def test_the_cli_dry_run_without_a_database_says_it_could_not_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    data = tmp_path / "apollo.csv"
    data.write_bytes(APOLLO)

    result = cli_dry_run(data, "--preset", "apollo", "--rows", "2")

    assert result.exit_code == 0, result.output
    assert "could not tell how many records would be inserted or updated" in result.output
    assert "stopped after the requested rows" in result.output
    rows = [line for line in result.output.splitlines() if line.strip("│ ").startswith("rows ")]
    assert rows and rows[0].split("│")[-2].strip() == "2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--preset", "apolo"), "preset: no preset 'apolo'"),
        (("--mapping", '{"Email": "e_mail"}'), "mapping.Email"),
        (("--mapping", "[1]"), "--mapping: a JSON object"),
    ],
)
def test_the_cli_dry_run_refuses_a_bad_mapping_naming_it(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    data = tmp_path / "apollo.csv"
    data.write_bytes(APOLLO)

    result = cli_dry_run(data, *options)

    assert result.exit_code != 0
    assert message in result.output


def test_the_existing_records_lookup_runs_in_a_read_only_transaction(conn: Any) -> None:
    from psycopg import errors

    from connectra.ingest.existing import read_only

    with pytest.raises(errors.ReadOnlySqlTransaction), read_only(conn):
        conn.execute("INSERT INTO companies (uuid, name) VALUES (%s, 'x')", (uuid.uuid4(),))


@pytest.mark.parametrize(
    "hostile",
    [
        {"s3_key": "uploads/contacts/x\x00y/people.csv"},
        {"s3_key": "\ud800"},
        {"s3_key": "z" * 2_000},
        {"preset": "apollo\x00"},
        {"mapping": {"Email\x00": "email"}},
        {"mapping": {"\ud800": "email"}},
        {"mapping": {"Email": "email\x00"}},
        {"mapping": {f"c{i}": None for i in range(2_000)}},
        {"max_rows": 10**12},
    ],
)
def test_hostile_dry_run_requests_are_4xx(api: TestClient, hostile: dict[str, Any]) -> None:
    url = upload(api, APOLLO)
    body = {"entity": "contacts", "s3_key": url["key"], **hostile}

    response = api.post(
        "/common/imports/dry-run",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    "header",
    [
        # A company column (combined rows): the chunk is parsed in Python.
        pytest.param(b"email,first_name,company_name\n", id="python-path"),
        pytest.param(b"email,first_name,title\n", id="sql-path"),
    ],
)
def test_the_split_follows_the_import_for_soft_deleted_and_email_owned_records(
    store: Any, conn: Any, header: bytes
) -> None:
    from connectra.db.upsert import bulk_upsert
    from connectra.ingest.dry_run import count_existing, dry_run
    from connectra.ingest.parse import FileFormat
    from connectra.local.pipeline import run_import
    from connectra.models.fields import Entity
    from connectra.models.records import ContactIn
    from tests.integration.ingest.conftest import upload_job

    stored = [
        ContactIn(email="revived@example.com").to_row(),  # soft-deleted: its uuid revives
        ContactIn(uuid=uuid.uuid4(), email="gone@example.com").to_row(),  # deleted, other uuid
        ContactIn(uuid=uuid.uuid4(), email="owned@example.com").to_row(),  # live, other uuid
    ]
    bulk_upsert(conn, Entity.CONTACTS, stored, enqueue_search=False)
    conn.execute("UPDATE contacts SET deleted_at = now() WHERE email <> 'owned@example.com'")
    conn.commit()
    body = header + (
        b"revived@example.com,R,Acme\ngone@example.com,G,Acme\n"
        b"owned@example.com,O,Acme\nnew@example.com,N,Acme\n"
    )

    report = dry_run(Entity.CONTACTS, [body], len(body), FileFormat.CSV, {})
    count_existing(conn, report)
    summary = run_import(upload_job(store, body), workers=1)

    assert (report.counts.inserted, report.counts.updated) == (2, 2)
    assert (summary.inserted, summary.updated) == (2, 2)
