"""The README's batch-upsert routes: `/contacts/batch-upsert`, `/companies/batch-upsert`
(aliases of today's `/bulk`) and `/common/batch-upsert` (raw, CSV-like rows)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.compat.conftest import app_client


@pytest.fixture
def api(clean_db: str) -> Iterator[TestClient]:
    with app_client() as client:
        yield client


def test_entity_batch_upsert_is_the_bulk_route(api: TestClient) -> None:
    body = {"records": [{"name": "Acme", "normalized_domain": "acme.com"}, {"name": ""}]}

    legacy = api.post("/companies/batch-upsert", json=body)
    current = api.post("/companies/bulk", json=body)

    assert legacy.status_code == current.status_code == 200
    assert (legacy.json()["inserted"], legacy.json()["failed"]) == (1, 1)
    assert (current.json()["updated"], current.json()["failed"]) == (1, 1)


def test_common_batch_upsert_maps_csv_headers_to_fields(api: TestClient) -> None:
    company = api.post("/companies/create", json={"name": "Acme", "normalized_domain": "acme.com"})
    rows = [
        {
            "First Name": "Ada",
            "Last Name": "Lovelace",
            "Email": "ada@example.com",
            "Company Id": company.json()["data"]["uuid"],
            "Favourite Colour": "green",
        },
        {"first_name": "Alan", "EMAIL": "alan@example.com", "Title": ""},
        {"First Name": "Bad", "Email": "not-an-email"},
    ]

    response = api.post("/common/batch-upsert", json={"service": "contacts", "rows": rows})

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["inserted"], result["updated"], result["failed"]) == (2, 0, 1)
    assert result["results"][2]["errors"][0]["path"] == "records[2].email"
    assert result["warnings"] == ["rows[].Favourite Colour: no such column for contacts, ignored"]
    found = api.post(
        "/contacts/", json={"where": {"keyword_match": {"must": {"email": "ada@example.com"}}}}
    ).json()["data"]
    assert (
        found[0]["first_name"] == "Ada" and found[0]["company_id"] == company.json()["data"]["uuid"]
    )


def test_common_batch_upsert_needs_a_known_entity(api: TestClient) -> None:
    response = api.post("/common/batch-upsert", json={"service": "people", "rows": []})

    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "service"


@pytest.mark.parametrize(
    ("entity", "record", "natural_key"),
    [
        ("contacts", {"first_name": "Ada", "email": "ada@example.com"}, "email"),
        ("companies", {"name": "Acme", "normalized_domain": "acme.com"}, "normalized_domain"),
    ],
)
def test_the_system_doc_write_operations(
    api: TestClient, entity: str, record: dict[str, str], natural_key: str
) -> None:
    # "Supported Operations": create, update, upsert (by natural key), bulk, soft delete
    created = api.post(f"/{entity}/create", json=record)
    uuid = created.json()["data"]["uuid"]
    updated = api.put(f"/{entity}/{uuid}", json={"city": "Austin"})
    upserted = api.post(f"/{entity}/upsert", json={**record, "state": "Texas"})
    bulk = api.post(f"/{entity}/bulk", json={"records": [record]})
    deleted = api.delete(f"/{entity}/{uuid}")

    assert created.status_code == 201
    assert updated.status_code == 200 and updated.json()["data"]["city"] == "Austin"
    assert upserted.json()["status"] == "updated"
    assert upserted.json()["data"][natural_key] == record[natural_key]
    assert bulk.json()["results"][0]["uuid"] == uuid
    assert deleted.status_code == 204
    # "Error Handling": 404 for a missing record, 400 for a validation error
    assert api.put(f"/{entity}/{uuid}", json={"city": "x"}).status_code == 404
    assert api.post(f"/{entity}/create", json={natural_key: ""}).status_code == 400
