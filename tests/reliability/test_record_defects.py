"""Record-level defects of the hostile-input probe (issue 11 D3, D4, D5, D6, D8, D9, D10,
D11). Each test failed on main: the status or outcome it asserts was a 500, a silent
overwrite, a wrong count or a whole-batch failure there."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.local.pipeline import run_import
from connectra.settings import DEV_API_KEY, get_settings
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import upload_job
from tests.reliability.test_hostile_api import signed_cursor

HEADERS = {"X-API-Key": DEV_API_KEY}
LONG_ITEM = "x" * 3000


@pytest.fixture
def client(api: TestClient) -> TestClient:
    api.headers.update(HEADERS)
    return api


def _contact(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/contacts/create", json=fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _paths(response: Any) -> list[str]:
    return [problem["path"] for problem in response.json()["details"]]


# -- D3: array items have a length limit --------------------------------------------------


def test_a_3000_character_array_item_is_a_400_on_every_write_route(client: TestClient) -> None:
    long = {"email": "d3@example.com", "departments": ["Sales", LONG_ITEM]}
    for route in ("/contacts/create", "/contacts/upsert"):
        response = client.post(route, json=long)
        assert response.status_code == 400, response.text
        assert _paths(response) == ["departments[1]"]
    bulk = client.post("/contacts/bulk", json={"records": [long, {"email": "ok@example.com"}]})
    assert bulk.status_code == 200, bulk.text
    assert [item["status"] for item in bulk.json()["results"]] == ["error", "inserted"]
    assert bulk.json()["results"][0]["errors"][0]["path"] == "records[0].departments[1]"
    company = client.post("/companies/create", json={"name": "Acme", "keywords": [LONG_ITEM]})
    assert company.status_code == 400
    contact = _contact(client, email="put@example.com")
    put = client.put(f"/contacts/{contact['uuid']}", json={"departments": [LONG_ITEM]})
    assert put.status_code == 400, put.text


def test_a_long_array_cell_in_a_csv_is_one_row_error(store: ObjectStore, conn: Any) -> None:
    body = (
        "email,departments\n"
        + "".join(f"p{i}@example.com,Sales\n" for i in range(10))
        + f"long@example.com,{LONG_ITEM}\n"
    ).encode()
    summary = run_import(upload_job(store, body), workers=1)
    assert (summary.status, summary.inserted, summary.failed) == ("completed_with_errors", 10, 1)
    rows = conn.execute("SELECT line, column_name, message FROM job_row_errors").fetchall()
    assert [(row["line"], row["column_name"]) for row in rows] == [(12, "departments")]
    assert "CONTEXT" not in rows[0]["message"] and "vql_" not in rows[0]["message"]


# -- D4: lone surrogates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/contacts/create", '{"email": "a@b.co", "title": "\\ud800"}'),
        ("POST", "/contacts/create", '{"email": "a@b.co", "\\udfff": 1}'),
        (
            "POST",
            "/contacts/",
            '{"where": {"text_matches": {"must": '
            '[{"filter_key": "title", "text_value": "x\\uDBFFy"}]}}}',
        ),
        (
            "POST",
            "/exports/",
            '{"entity": "contacts", "vql": {"where": {"keyword_match": '
            '{"must": {"seniority": "\\ud800"}}}}}',
        ),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_its_path(
    client: TestClient, method: str, path: str, raw: str
) -> None:
    response = client.request(
        method, path, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["details"][0]["type"] == "invalid_unicode"
    assert body["details"][0]["path"] != "body"


def test_a_valid_surrogate_pair_is_text(client: TestClient) -> None:
    raw = '{"email": "emoji@example.com", "title": "Chief \\ud83d\\ude00 Officer"}'
    response = client.post(
        "/contacts/create", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["title"] == "Chief \U0001f600 Officer"


def test_a_put_key_with_a_surrogate_is_a_400(client: TestClient) -> None:
    contact = _contact(client, email="put-key@example.com")
    response = client.put(
        f"/contacts/{contact['uuid']}",
        content='{"\\ud800": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


# -- D5 / D6: an upsert never overwrites another record -----------------------------------


def test_an_upsert_whose_uuid_and_email_disagree_is_a_409(client: TestClient) -> None:
    x = _contact(client, email="x@example.com", title="X")
    y = _contact(client, email="y@example.com", title="Y", city="Berlin")
    response = client.post(
        "/contacts/upsert", json={"uuid": x["uuid"], "email": "y@example.com", "title": "X2"}
    )
    assert response.status_code == 409, response.text
    assert response.json()["details"][0]["uuid"] == y["uuid"]
    assert client.get(f"/contacts/{y['uuid']}").json()["data"]["city"] == "Berlin"
    assert client.get(f"/contacts/{x['uuid']}").json()["data"]["title"] == "X"

    bulk = client.post(
        "/contacts/bulk",
        json={"records": [{"uuid": x["uuid"], "email": "y@example.com"}, {"email": "z@ex.io"}]},
    )
    assert [item["status"] for item in bulk.json()["results"]] == ["error", "inserted"]
    assert bulk.json()["results"][0]["errors"][0]["path"] == "records[0].email"

    a = client.post("/companies/create", json={"name": "A", "website": "a.io"}).json()["data"]
    client.post("/companies/create", json={"name": "B", "website": "b.io"})
    company = client.post("/companies/upsert", json={"uuid": a["uuid"], "website": "b.io"})
    assert company.status_code == 409


def test_parallel_upserts_of_one_new_email_never_fail_with_a_500(client: TestClient) -> None:
    def upsert(_: int) -> int:
        body = {"uuid": str(uuid.uuid4()), "email": "race@example.com"}
        return client.post("/contacts/upsert", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(upsert, range(16)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 409}, statuses


# -- D8: cursors ----------------------------------------------------------------------------


def test_a_signed_cursor_holding_nul_is_a_400(client: TestClient) -> None:
    _contact(client, email="c1@example.com")
    _contact(client, email="c2@example.com")
    query, cursor = signed_cursor(client, ("a\x00b", str(uuid.uuid4())))
    response = client.post("/contacts/", json={**query, "search_after": cursor})
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["path"] == "search_after"


# -- D9: soft-deleted records ---------------------------------------------------------------


def test_a_deleted_contact_no_longer_claims_its_email(client: TestClient) -> None:
    old = _contact(client, uuid=str(uuid.uuid4()), email="reuse@example.com")
    assert client.delete(f"/contacts/{old['uuid']}").status_code == 204
    new = _contact(client, email="reuse@example.com")
    assert new["uuid"] != old["uuid"]


def test_a_contact_cannot_be_linked_to_a_deleted_company(client: TestClient) -> None:
    company = client.post("/companies/create", json={"name": "Gone", "website": "gone.io"})
    company_id = company.json()["data"]["uuid"]
    assert client.delete(f"/companies/{company_id}").status_code == 204
    response = client.post("/contacts/create", json={"email": "l@ex.io", "company_id": company_id})
    assert response.status_code == 400
    assert _paths(response) == ["company_id"]
    contact = _contact(client, email="m@ex.io")
    put = client.put(f"/contacts/{contact['uuid']}", json={"company_id": company_id})
    assert put.status_code == 400


# -- D10: bulk ------------------------------------------------------------------------------


def test_bulk_counts_rows_written_and_a_nul_fails_only_its_record(client: TestClient) -> None:
    records = [
        {"email": "same@example.com", "title": "one"},
        {"email": "same@example.com", "title": "two"},
        {"email": "same@example.com", "title": "three"},
        {"email": "nul@example.com", "title": "bad\x00title"},
        {"email": "fine@example.com"},
    ]
    response = client.post("/contacts/bulk", json={"records": records})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["inserted"], body["updated"], body["failed"]) == (2, 2, 1)
    assert body["results"][3]["errors"][0]["path"] == "records[3].title"
    assert len({item["uuid"] for item in body["results"][:3]}) == 1


# -- D11: body size and echoed names ------------------------------------------------------


def test_an_oversized_body_is_a_413(client: TestClient) -> None:
    limit = get_settings().api_max_body_bytes
    payload = json.dumps({"records": [{"email": "big@example.com", "title": "x" * limit}]})
    response = client.post(
        "/contacts/bulk", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["details"]["max_bytes"] == limit


def test_a_huge_field_name_is_not_echoed_in_full(client: TestClient) -> None:
    name = "f" * 1_000_000
    response = client.post("/contacts/create", json={"email": "n@example.com", name: 1})
    assert response.status_code == 400
    assert len(response.content) < 5_000
    contact = _contact(client, email="n2@example.com")
    put = client.put(f"/contacts/{contact['uuid']}", json={name: 1})
    assert put.status_code == 400 and len(put.content) < 5_000
