"""`preset` and `mapping` on the upload-URL and job-create routes: a valid one is what the
import then uses; an invalid one is a 400 naming `preset` or `mapping.<column>`, and no
job is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.local.launcher import LocalLauncher
from connectra.local.pipeline import make_executor, run_import
from connectra.orchestration.start import handle_object_created
from connectra.orchestration.sweeper import sweep
from connectra.storage.s3 import get_store
from tests.integration.ingest.conftest import BUCKET
from tests.integration.ingest.test_dry_run import APOLLO, api, upload
from tests.integration.ingest.test_upload_and_start import RecordingLauncher, object_created

__all__ = ["api"]  # the fixture

# A header no alias knows: only the explicit mapping can make sense of it.
FOREIGN = (
    b"E-Post,Vorname,Handy,Firma,Netz,Mitarbeiter,Punkte\n"
    b"ada@analytical.example,Ada,+1 555 0102,Analytical Engines,analytical.example,51-200,7\n"
)
FOREIGN_MAPPING = {
    "E-Post": "email",
    "Vorname": "first_name",
    "Handy": "mobile_phone",
    "Firma": "company_name",
    "Netz": "company_website",
    "Mitarbeiter": "company_employees_count",
    "Punkte": None,
}


def contact(conn: Any, email: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT c.first_name, c.mobile_phone, c.seniority, to_jsonb(co) AS company "
        "FROM contacts c LEFT JOIN companies co ON co.uuid = c.company_id WHERE c.email = %s",
        (email,),
    ).fetchone()
    assert row is not None, email
    return dict(row)


def import_uploaded(events_dir: Path, key: str) -> None:
    """The upload's S3 event starts its job; the import runs in this process."""
    launcher = RecordingLauncher()
    etag = get_store().head(BUCKET, key).etag
    outcome = handle_object_created(object_created(events_dir, BUCKET, key, etag), launcher)
    assert outcome.started, outcome
    (plan_input,) = launcher.started.values()
    summary = run_import(plan_input, workers=1)
    assert summary.status in ("completed", "completed_with_errors"), summary.error


def test_the_upload_url_s_preset_is_used_by_its_import(
    api: TestClient, events_dir: Path, conn: Any
) -> None:
    url = upload(api, APOLLO, entity="contacts", preset="apollo")

    import_uploaded(events_dir, url["key"])

    ada = contact(conn, "ada@analytical.example")
    assert ada["seniority"] == "vp"  # the preset's vocabulary ("VP")
    assert ada["company"]["normalized_domain"] == "analytical.example"
    assert ada["company"]["phone"] == "+1 555 0199"  # Corporate Phone: the preset's choice


def test_the_upload_url_s_mapping_is_used_by_its_import(
    api: TestClient, events_dir: Path, conn: Any
) -> None:
    url = upload(api, FOREIGN, entity="contacts", mapping=json.dumps(FOREIGN_MAPPING))

    import_uploaded(events_dir, url["key"])

    ada = contact(conn, "ada@analytical.example")
    assert (ada["first_name"], ada["mobile_phone"]) == ("Ada", "+1 555 0102")
    assert ada["company"]["name"] == "Analytical Engines"
    assert ada["company"]["normalized_domain"] == "analytical.example"
    assert ada["company"]["employees_count"] == 51


def test_without_the_mapping_the_same_file_is_refused(
    api: TestClient, events_dir: Path, conn: Any
) -> None:
    # The control of the test above: nothing else makes that header importable.
    url = upload(api, FOREIGN, entity="contacts")

    launcher = RecordingLauncher()
    etag = get_store().head(BUCKET, url["key"]).etag
    handle_object_created(object_created(events_dir, BUCKET, url["key"], etag), launcher)
    (plan_input,) = launcher.started.values()
    summary = run_import(plan_input, workers=1)

    assert summary.status == "failed", summary
    assert "E-Post" in (summary.error or ""), summary.error
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 0


@pytest.mark.parametrize("job_type", ["import", "insert_csv_file"])
def test_the_job_create_mapping_is_used_by_its_import(
    api: TestClient, conn: Any, job_type: str
) -> None:
    url = upload(api, FOREIGN)  # staged: the job request carries the mapping
    if job_type == "import":
        body: dict[str, Any] = {
            "job_type": "import",
            "entity": "contacts",
            "s3_key": url["key"],
            "mapping": FOREIGN_MAPPING,
        }
    else:
        body = {
            "job_type": "insert_csv_file",
            "data": {"s3_key": url["key"], "service": "contacts", "mapping": FOREIGN_MAPPING},
        }

    created = api.post("/common/jobs/create", json=body)

    assert created.status_code == 201, created.text
    assert sweep(LocalLauncher(make_executor(1))).launched == [url["job_id"]]
    ada = contact(conn, "ada@analytical.example")
    assert (ada["mobile_phone"], ada["company"]["employees_count"]) == ("+1 555 0102", 51)


def test_the_job_create_preset_is_used_by_its_import(api: TestClient, conn: Any) -> None:
    url = upload(api, APOLLO)

    created = api.post(
        "/common/jobs/create",
        json={"job_type": "import", "entity": "contacts", "s3_key": url["key"], "preset": "apollo"},
    )

    assert created.status_code == 201, created.text
    sweep(LocalLauncher(make_executor(1)))
    assert contact(conn, "grace@gmail.com")["seniority"] == "c_suite"


BAD_OPTIONS = [
    ({"preset": "apolo"}, "preset"),
    ({"preset": "hubspot", "entity": "companies"}, "preset"),
    ({"mapping": {"Handy": "handy_number"}}, "mapping.Handy"),
    ({"mapping": {"Handy": "mobile_phone", "E-Post": "mobile_phone"}}, "mapping.E-Post"),
    ({"mapping": {"Firma": "company_colour"}}, "mapping.Firma"),
]


def job_count(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"])


@pytest.mark.parametrize(("options", "path"), BAD_OPTIONS)
def test_a_bad_upload_url_option_is_a_400_naming_it_and_makes_no_job(
    api: TestClient, conn: Any, options: dict[str, Any], path: str
) -> None:
    params = {"filename": "people.csv", "entity": "contacts", **options}
    if "mapping" in params:
        params["mapping"] = json.dumps(params["mapping"])

    response = api.get("/common/upload-url", params=params)

    assert response.status_code == 400, response.text
    assert path in [detail["path"] for detail in response.json()["details"]]
    assert job_count(conn) == 0


@pytest.mark.parametrize(
    ("mapping", "message"),
    [("{not json", "mapping: not valid JSON"), ('["email"]', "mapping: a JSON object")],
)
def test_an_upload_url_mapping_that_is_no_json_object_is_a_400(
    api: TestClient, mapping: str, message: str
) -> None:
    response = api.get(
        "/common/upload-url",
        params={"filename": "p.csv", "entity": "contacts", "mapping": mapping},
    )

    assert response.status_code == 400
    assert message in response.text


@pytest.mark.parametrize(("options", "path"), BAD_OPTIONS)
def test_a_bad_job_create_option_is_a_400_naming_it_and_makes_no_job(
    api: TestClient, conn: Any, options: dict[str, Any], path: str
) -> None:
    url = upload(api, FOREIGN)
    body = {"job_type": "import", "entity": "contacts", "s3_key": url["key"], **options}

    response = api.post("/common/jobs/create", json=body)

    assert response.status_code == 400, response.text
    assert path in [detail["path"] for detail in response.json()["details"]]
    assert job_count(conn) == 0


def test_a_staged_upload_url_with_a_preset_needs_the_entity(api: TestClient, conn: Any) -> None:
    # Without `entity` the file is staged: the mapping belongs in the job request.
    response = api.get("/common/upload-url", params={"filename": "p.csv", "preset": "apollo"})

    assert response.status_code == 400
    assert response.json()["message"].startswith("entity:")
    assert job_count(conn) == 0


def test_a_bad_job_create_mapping_is_a_400_even_when_the_object_is_missing(
    api: TestClient, conn: Any
) -> None:
    body = {
        "job_type": "import",
        "entity": "contacts",
        "s3_key": "uploads/never-uploaded/people.csv",
        "mapping": {"Handy": "handy_number"},
    }

    response = api.post("/common/jobs/create", json=body)

    assert response.status_code == 400, response.text
    assert "mapping.Handy" in [detail["path"] for detail in response.json()["details"]]
    assert job_count(conn) == 0
