"""Search, count, CRUD, upsert, bulk, filters and auth through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.settings import get_settings


def create_company(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/companies/create", json={"name": "Acme", **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def create_contact(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/contacts/create", json=fields)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_requests_without_an_api_key_are_401(client: TestClient) -> None:
    response = client.post("/contacts/", json={}, headers={"X-API-Key": ""})

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_an_empty_bucket_answers_429_with_retry_headers(
    client: TestClient, tiny_burst: None
) -> None:
    statuses = [client.post("/contacts/count", json={}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    limited = client.post("/contacts/count", json={})
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in limited.headers


def test_invalid_vql_is_400_naming_the_path(client: TestClient) -> None:
    body = {"where": {"text_matches": {"must": [{"filter_key": "salary", "text_value": "x"}]}}}

    response = client.post("/contacts/", json=body)

    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "validation_error"
    assert error["details"][0]["path"] == "where.text_matches.must[0].filter_key"


def test_unknown_keys_are_ignored_with_a_warning_and_big_limits_are_400(
    client: TestClient,
) -> None:
    unknown = client.post("/contacts/", json={"where": {"text_match": {}}})
    too_many = client.post("/companies/", json={"limit": 101})

    assert unknown.status_code == 200  # as the original (Go) ignored unknown keys
    assert unknown.json()["warnings"] == ["where.text_match: unknown key ignored"]
    assert too_many.status_code == 400
    assert too_many.json()["details"][0]["path"] == "limit"
    assert too_many.json()["message"] == "limit: page size exceeds maximum limit"


def test_a_tampered_cursor_is_400(client: TestClient) -> None:
    company = create_company(client, website="acme.com")
    for index in range(3):
        create_contact(client, email=f"p{index}@acme.com", company_id=company["uuid"])
    first = client.post("/contacts/", json={"limit": 2}).json()
    cursor = first["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")

    second = client.post("/contacts/", json={"limit": 2, "search_after": cursor})
    rejected = client.post("/contacts/", json={"limit": 2, "search_after": tampered})

    assert len(second.json()["data"]) == 1
    assert second.json()["next_cursor"] is None
    assert rejected.status_code == 400
    assert rejected.json()["details"][0]["path"] == "search_after"


def test_crud_round_trip_and_soft_delete_hides_the_record(client: TestClient) -> None:
    company = create_company(client, website="acme.com", industries=["Software"])
    contact = create_contact(
        client, first_name="Ada", email="ada@acme.com", title="CTO", company_id=company["uuid"]
    )
    path = f"/contacts/{contact['uuid']}"

    assert client.get(path).json()["data"]["title"] == "CTO"
    updated = client.put(path, json={"title": "Chief Scientist"})
    assert updated.status_code == 200
    assert updated.json()["data"]["title"] == "Chief Scientist"
    found = client.post(
        "/contacts/",
        json={
            "where": {
                "text_matches": {"must": [{"filter_key": "title", "text_value": "scientist"}]}
            }
        },
    ).json()["data"]
    assert [row["uuid"] for row in found] == [contact["uuid"]]

    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
    assert client.post("/contacts/count", json={}).json() == {
        "count": 0,
        "relation": "eq",
        "cached": False,
    }


def test_create_twice_is_409_and_unknown_company_is_400(client: TestClient) -> None:
    create_contact(client, email="ada@acme.com")

    again = client.post("/contacts/create", json={"email": "ada@acme.com"})
    orphan = client.post(
        "/contacts/create",
        json={"email": "bob@acme.com", "company_id": "a0000000-0000-4000-8000-000000000099"},
    )

    assert again.status_code == 409
    assert orphan.status_code == 400
    assert orphan.json()["details"][0]["path"] == "company_id"


def test_update_rejects_unknown_fields_and_bad_values(client: TestClient) -> None:
    contact = create_contact(client, email="ada@acme.com")
    path = f"/contacts/{contact['uuid']}"

    unknown = client.put(path, json={"salary": 1})
    bad_email = client.put(path, json={"email": "not-an-email"})

    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["path"] == "salary"
    assert bad_email.status_code == 400
    assert bad_email.json()["details"][0]["path"] == "email"


def test_upsert_by_natural_key_updates_the_same_record(client: TestClient) -> None:
    first = client.post("/contacts/upsert", json={"email": "Ada@Acme.com", "title": "CTO"})
    second = client.post("/contacts/upsert", json={"email": "ada@acme.com", "title": "CEO"})

    assert first.json()["status"] == "inserted"
    assert second.json()["status"] == "updated"
    assert second.json()["data"]["uuid"] == first.json()["data"]["uuid"]
    assert second.json()["data"]["title"] == "CEO"


def test_bulk_reports_each_record_and_keeps_the_valid_ones(client: TestClient) -> None:
    existing = create_contact(client, email="old@acme.com")
    records = [
        {"email": "new@acme.com", "seniority": "Senior"},
        {"email": "not an email"},
        {"email": "old@acme.com", "title": "Updated"},
        {"email": "x@acme.com", "company_id": "a0000000-0000-4000-8000-000000000099"},
    ]

    response = client.post("/contacts/bulk", json={"records": records})

    body = response.json()
    assert response.status_code == 200
    assert (body["inserted"], body["updated"], body["failed"]) == (1, 1, 2)
    assert [item["status"] for item in body["results"]] == ["inserted", "error", "updated", "error"]
    assert body["results"][1]["errors"][0]["path"] == "records[1].email"
    assert body["results"][2]["uuid"] == existing["uuid"]
    assert client.post("/contacts/count", json={}).json() == {
        "count": 2,
        "relation": "eq",
        "cached": False,
    }


def test_bulk_over_the_limit_is_413(client: TestClient) -> None:
    limit = get_settings().bulk_max_records
    records = [{"email": f"p{index}@acme.com"} for index in range(limit + 1)]

    response = client.post("/contacts/bulk", json={"records": records})

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_filters_catalogue_lists_the_service_filters(client: TestClient) -> None:
    response = client.get("/common/contacts/filters")

    keys = {item["key"] for item in response.json()["data"]}
    assert response.status_code == 200
    assert {"seniority", "company_industries", "first_name"} <= keys


def test_filter_values_follow_writes_and_search(client: TestClient) -> None:
    company = create_company(client, website="acme.com", industries=["Software", "AI"])
    ada = create_contact(
        client, email="ada@acme.com", seniority="Senior", company_id=company["uuid"]
    )
    create_contact(client, email="bob@acme.com", seniority="senior")
    create_contact(client, email="cy@acme.com", seniority="Lead")

    def values(key: str, **extra: Any) -> list[tuple[str, int]]:
        response = client.post("/common/contacts/filters/data", json={"filter_key": key, **extra})
        assert response.status_code == 200, response.text
        return [(item["value"], item["count"]) for item in response.json()["data"]]

    assert values("seniority") == [("senior", 2), ("lead", 1)]
    assert values("seniority", search_text="LE") == [("lead", 1)]
    assert values("company_industries") == [("ai", 1), ("software", 1)]
    assert values("email", search_text="bob") == [("bob@acme.com", 1)]

    client.put(f"/contacts/{ada['uuid']}", json={"seniority": "Lead"})
    assert values("seniority") == [("lead", 2), ("senior", 1)]
    client.delete(f"/contacts/{ada['uuid']}")
    assert values("seniority") == [("lead", 1), ("senior", 1)]


def test_unknown_filter_key_is_400(client: TestClient) -> None:
    response = client.post("/common/contacts/filters/data", json={"filter_key": "salary"})

    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "filter_key"


def test_the_deep_health_check_reports_the_search_engine(client: TestClient) -> None:
    body = client.get("/health/deep").json()

    assert body["search"]["backend"] == "postgres"
    assert body["search"]["ok"] is True
    assert body["database"]["ok"] is True


def test_the_open_health_check_is_shallow_and_the_deep_one_needs_a_key(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_database() -> None:
        raise AssertionError("the open health check touched the database")

    monkeypatch.setattr("connectra.api.routes.health.database_status", no_database)
    open_check = client.get("/health", headers={"X-API-Key": ""})
    deep_without_key = client.get("/health/deep", headers={"X-API-Key": ""})

    assert open_check.status_code == 200 and open_check.json()["status"] == "ok"
    assert deep_without_key.status_code == 401
