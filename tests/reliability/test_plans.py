"""Plans on every route: on `free` premium fields are null in every record a route returns
and in export files, filtering or sorting on them is a 403 naming the field, and daily
allowances (export rows, import bytes) are 429s naming the metric. Paid plans see all."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.api.app import create_app
from connectra.export.job import run_export_job
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore
from tests.reliability.helpers import query

ALL = ["read", "write", "admin"]
FREE = {"X-API-Key": "free-key"}
PRO = {"X-API-Key": "pro-key"}
PREMIUM_CONTACT = {"email", "mobile_phone", "linkedin_url"}

# Every protected route, and how this module checks its plan behaviour.
ROUTE_CHECKS = {
    ("POST", "/contacts/"): "rows blanked, company populated blanked, premium filter/sort 403",
    ("POST", "/contacts/count"): "premium filter 403",
    ("POST", "/contacts/create"): "echoed record blanked",
    ("POST", "/contacts/upsert"): "echoed record blanked",
    ("POST", "/contacts/bulk"): "returns ids and outcomes only",
    ("GET", "/contacts/{record_id}"): "record blanked",
    ("PUT", "/contacts/{record_id}"): "echoed record blanked",
    ("DELETE", "/contacts/{record_id}"): "returns no body",
    ("POST", "/companies/"): "rows blanked, premium filter 403",
    ("POST", "/companies/count"): "premium filter 403",
    ("POST", "/companies/create"): "echoed record blanked",
    ("POST", "/companies/upsert"): "echoed record blanked",
    ("POST", "/companies/bulk"): "returns ids and outcomes only",
    ("GET", "/companies/{record_id}"): "record blanked",
    ("PUT", "/companies/{record_id}"): "echoed record blanked",
    ("DELETE", "/companies/{record_id}"): "returns no body",
    ("GET", "/common/{service}/filters"): "field names only",
    ("POST", "/common/{service}/filters/data"): "premium field's values 403",
    ("GET", "/common/upload-url"): "import bytes allowance",
    ("POST", "/common/jobs/create"): "export: premium filter 403, columns blanked, rows cap",
    ("POST", "/common/jobs"): "job summaries only",
    ("GET", "/common/jobs/{job_id}"): "job state only",
    ("POST", "/common/jobs/{job_id}/retry"): "job summary only",
    ("POST", "/common/jobs/{job_id}/cancel"): "job summary only",
    ("GET", "/admin/keys"): "keys without values",
    ("GET", "/admin/usage"): "usage amounts",
    # Added by other branches: aggregations (read scope; the plan's premium fields pass
    # through api/field_access.py, i.e. consumers.gating), the original's routes (legacy
    # aliases of the routes above, same endpoint and gate) and the deep health check.
    ("POST", "/contacts/aggregate"): "premium field aggregated or filtered on 403",
    ("POST", "/companies/aggregate"): "premium field aggregated or filtered on 403",
    ("POST", "/contacts/filter"): "alias of POST /contacts/: rows blanked, premium filter 403",
    ("POST", "/companies/filter"): "alias of POST /companies/: rows blanked, premium filter 403",
    ("POST", "/contacts/batch-upsert"): "alias of /contacts/bulk: ids and outcomes only",
    ("POST", "/companies/batch-upsert"): "alias of /companies/bulk: ids and outcomes only",
    ("POST", "/common/batch-upsert"): "through /{entity}/bulk: ids and outcomes only",
    ("GET", "/common/filters/{service}"): "alias: field names only",
    ("POST", "/common/filters/{service}/data"): "alias: premium field's values 403",
    ("GET", "/health/deep"): "dependency status only",
    # The import dry run (vendor files): samples are rows of the caller's own upload, and
    # the counts say only what the import itself would report (inserted vs updated).
    ("POST", "/common/imports/dry-run"): "the caller's own rows and import counts only",
}


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    keys = {
        "free-key": {"consumer": "freebie", "scopes": ALL, "plan": "free"},
        "pro-key": {"consumer": "payer", "scopes": ALL, "plan": "pro"},
    }
    monkeypatch.setenv("API_KEYS", json.dumps(keys))
    monkeypatch.setenv("RATE_LIMIT_BURST", "100000")
    monkeypatch.setenv(
        "PLAN_SETTINGS",
        json.dumps({"free": {"export_rows_per_day": 3, "import_bytes_per_day": 100}}),
    )
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def records(api: TestClient, plans: None) -> dict[str, str]:
    company = api.post(
        "/companies/create",
        json={"name": "Acme", "phone": "49 1", "website": "acme.io"},
        headers=PRO,
    )
    assert company.status_code == 201, company.text
    company_id = company.json()["data"]["uuid"]
    ids = {"company": company_id}
    for index in range(2):
        contact = api.post(
            "/contacts/create",
            json={
                "email": f"p{index}@acme.io",
                "mobile_phone": "+1 555",
                "linkedin_url": f"linkedin.com/in/p{index}",
                "title": "Engineer",
                "company_id": company_id,
            },
            headers=PRO,
        )
        assert contact.status_code == 201, contact.text
        ids[f"contact{index}"] = contact.json()["data"]["uuid"]
    return ids


def test_the_route_table_covers_every_protected_route() -> None:
    paths = create_app().openapi()["paths"]
    operations = {
        (method.upper(), path)
        for path, methods in paths.items()
        if path != "/health"
        for method in methods
    }
    assert operations == set(ROUTE_CHECKS)


def _premium_nulls(row: dict[str, Any]) -> bool:
    return all(row[field] is None for field in PREMIUM_CONTACT)


def test_search_and_get_blank_premium_fields_on_free_only(
    api: TestClient, records: dict[str, str]
) -> None:
    body = {"company_config": {"populate": True, "select_columns": ["name", "phone"]}}

    free = api.post("/contacts/", json=body, headers=FREE).json()["data"]
    pro = api.post("/contacts/", json=body, headers=PRO).json()["data"]
    free_one = api.get(f"/contacts/{records['contact0']}", headers=FREE).json()["data"]
    companies = api.post("/companies/", json={}, headers=FREE).json()["data"]
    company = api.get(f"/companies/{records['company']}", headers=FREE).json()["data"]

    assert len(free) == 2 and all(_premium_nulls(row) for row in free)
    assert all(row["company"]["phone"] is None for row in free)
    assert all(row["title"] == "Engineer" and row["company"]["name"] == "Acme" for row in free)
    assert all(row["email"] and row["company"]["phone"] == "49 1" for row in pro)
    assert _premium_nulls(free_one) and free_one["title"] == "Engineer"
    assert companies[0]["phone"] is None and companies[0]["name"] == "Acme"
    assert company["phone"] is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts/", {"where": {"keyword_match": {"must": {"email": "p0@acme.io"}}}}, "email"),
        ("/contacts/", {"order_by": [{"order_by": "email"}]}, "email"),
        (
            "/contacts/count",
            {"where": {"keyword_match": {"must_not": {"company_phone": "1"}}}},
            "company_phone",
        ),
        (
            "/contacts/count",
            {"where": {"text_matches": {"must": [{"filter_key": "email", "text_value": "acme"}]}}},
            "email",
        ),
        ("/companies/", {"where": {"keyword_match": {"must": {"phone": "49 1"}}}}, "phone"),
        ("/companies/count", {"where": {"keyword_match": {"must": {"phone": "1"}}}}, "phone"),
        ("/common/contacts/filters/data", {"filter_key": "mobile_phone"}, "mobile_phone"),
        ("/common/filters/contacts/data", {"filter_key": "mobile_phone"}, "mobile_phone"),
        ("/contacts/filter", {"where": {"keyword_match": {"must": {"email": "x"}}}}, "email"),
        ("/companies/filter", {"where": {"keyword_match": {"must": {"phone": "1"}}}}, "phone"),
        (
            "/contacts/aggregate",
            {"aggregations": [{"name": "e", "type": "terms", "field": "linkedin_url"}]},
            "linkedin_url",
        ),
        (
            "/contacts/aggregate",
            {
                "where": {"keyword_match": {"must": {"company_phone": "1"}}},
                "aggregations": [{"name": "t", "type": "terms", "field": "title"}],
            },
            "company_phone",
        ),
        (
            "/companies/aggregate",
            {"aggregations": [{"name": "p", "type": "terms", "field": "phone"}]},
            "phone",
        ),
        (
            "/common/jobs/create",
            {
                "job_type": "export",
                "entity": "contacts",
                "vql": {"where": {"keyword_match": {"must": {"linkedin_url": "x"}}}},
            },
            "linkedin_url",
        ),
    ],
)
def test_free_filtering_or_sorting_on_a_premium_field_is_403_naming_it(
    api: TestClient, records: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    refused = api.post(path, json=body, headers=FREE)
    paid = api.post(path, json=body, headers=PRO)

    assert refused.status_code == 403, refused.text
    assert refused.json()["details"]["field"] == field
    assert field in refused.json()["message"]
    assert paid.status_code in (200, 201), paid.text


def test_written_records_are_echoed_blanked_on_free(
    api: TestClient, records: dict[str, str]
) -> None:
    contact = {"email": "new@acme.io", "mobile_phone": "+1", "linkedin_url": "linkedin.com/in/new"}

    created = api.post("/contacts/create", json=contact, headers=FREE)
    assert created.status_code == 201, created.text
    upserted = api.post("/contacts/upsert", json={**contact, "title": "CTO"}, headers=FREE)
    updated = api.put(f"/contacts/{records['contact1']}", json={"title": "VP"}, headers=FREE)
    company = api.post("/companies/create", json={"name": "B", "phone": "+2"}, headers=FREE)
    company_upsert = api.post(
        "/companies/upsert", json={"name": "C", "phone": "+3", "website": "c.io"}, headers=FREE
    )
    company_put = api.put(f"/companies/{records['company']}", json={"city": "x"}, headers=FREE)
    stored = api.get(f"/contacts/{created.json()['data']['uuid']}", headers=PRO).json()["data"]

    for response in (created, upserted, updated):
        assert response.status_code in (200, 201), response.text
        assert _premium_nulls(response.json()["data"])
    for response in (company, company_upsert, company_put):
        assert response.status_code in (200, 201), response.text
        assert response.json()["data"]["phone"] is None
    assert stored["email"] == "new@acme.io"  # blanked in the answer, stored as sent


def _csv_rows(store: ObjectStore, job: dict[str, Any]) -> list[dict[str, str]]:
    key = job["response"]["export_key"]
    body = store.client.get_object(Bucket=get_settings().s3_bucket, Key=key)["Body"].read()
    return list(csv.DictReader(io.StringIO(body.decode())))


def _run_export(api: TestClient, headers: dict[str, str], columns: list[str]) -> dict[str, Any]:
    body = {"job_type": "export", "entity": "contacts", "vql": {}, "columns": columns}
    created = api.post("/common/jobs/create", json=body, headers=headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    url = get_settings().database_url or ""
    query(url, "UPDATE jobs SET status = 'in_queue' WHERE uuid = %s RETURNING 1", (job_id,))
    run_export_job(uuid.UUID(job_id))  # what the runner does with a queued job
    (job,) = query(url, "SELECT * FROM jobs WHERE uuid = %s", (job_id,))
    return job


def test_free_export_files_have_premium_columns_empty(
    api: TestClient, records: dict[str, str], store: ObjectStore
) -> None:
    columns = ["uuid", "email", "title", "company_name", "company_phone"]

    free = _csv_rows(store, _run_export(api, FREE, columns))
    pro = _csv_rows(store, _run_export(api, PRO, columns))

    assert len(free) == 2 and {row["email"] for row in free} == {""}
    assert {row["company_phone"] for row in free} == {""}
    assert {row["company_name"] for row in free} == {"Acme"}
    assert {row["email"] for row in pro} == {"p0@acme.io", "p1@acme.io"}
    assert {row["company_phone"] for row in pro} == {"49 1"}


def test_free_exports_are_capped_per_day(
    api: TestClient, records: dict[str, str], store: ObjectStore
) -> None:
    export = {"job_type": "export", "entity": "contacts", "vql": {}}  # 2 rows; free: 3 a day

    first = api.post("/common/jobs/create", json=export, headers=FREE)
    replay = api.post(
        "/common/jobs/create", json=export, headers={**FREE, "Idempotency-Key": "same"}
    )
    again = api.post(
        "/common/jobs/create", json=export, headers={**FREE, "Idempotency-Key": "same"}
    )
    paid = [api.post("/common/jobs/create", json=export, headers=PRO) for _ in range(3)]
    usage = api.get("/admin/usage", headers=PRO).json()["data"]

    assert first.status_code == 201
    assert replay.status_code == 429, replay.text  # 2 + 2 > 3
    assert replay.json()["details"]["level"] == "export_rows"
    assert int(replay.headers["Retry-After"]) >= 1
    assert again.status_code == 429  # the refused job was not created
    assert [r.status_code for r in paid] == [201, 201, 201]
    assert {"consumer": "freebie", "metric": "export_rows", "amount": 2} in usage
    assert {"consumer": "payer", "metric": "export_rows", "amount": 6} in usage


def test_free_uploads_are_bounded_by_the_import_bytes_left_today(
    api: TestClient, records: dict[str, str], store: ObjectStore
) -> None:
    params = {"filename": "a.csv", "entity": "contacts"}

    free = api.get("/common/upload-url", params=params, headers=FREE)
    pro = api.get("/common/upload-url", params=params, headers=PRO)
    url = get_settings().database_url or ""
    query(
        url,
        "INSERT INTO consumer_usage (consumer, day, metric, amount) "
        "VALUES ('freebie', (now() AT TIME ZONE 'UTC')::date, 'import_bytes', 100) RETURNING 1",
    )
    spent = api.get("/common/upload-url", params=params, headers=FREE)

    assert free.status_code == 200 and free.json()["max_bytes"] == 100
    assert pro.json()["max_bytes"] > 100
    assert spent.status_code == 429
    assert spent.json()["details"]["level"] == "import_bytes"
