"""The route tables of the three documents, the documented error bodies, `/health`,
CORS and gzip (the original's middleware chain)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connectra.settings import get_settings
from tests.compat.conftest import app_client
from tests.compat.documents import (
    README_PAGE_SIZE_EXCEEDED,
    ROUTE_TABLES,
    SYSTEM_JOB_LIST,
    SYSTEM_RATE_LIMITED,
    SYSTEM_UNAUTHORIZED,
)

BODIES = {
    "/common/filters/contacts/data": {"filter_key": "seniority"},
    "/common/companies/filters/data": {"filter_key": "country"},
    "/common/jobs": SYSTEM_JOB_LIST,
}


@pytest.mark.parametrize(("method", "path", "document"), ROUTE_TABLES)
def test_every_route_of_the_route_tables_answers(
    api: TestClient, method: str, path: str, document: str
) -> None:
    response = api.request(method, path, json=BODIES.get(path, {}) if method == "POST" else None)

    assert response.status_code == 200, f"{document}: {method} {path} → {response.text}"
    assert isinstance(response.json(), dict)


def test_legacy_routes_answer_as_the_current_ones_and_are_deprecated(api: TestClient) -> None:
    pairs = [
        ("GET", "/common/filters/companies", "/common/companies/filters", None),
        (
            "POST",
            "/common/filters/contacts/data",
            "/common/contacts/filters/data",
            {"filter_key": "seniority", "search_text": "sen"},
        ),
        ("POST", "/contacts/filter", "/contacts/", {"limit": 3}),
    ]
    for method, legacy, current, body in pairs:
        old = api.request(method, legacy, json=body)
        new = api.request(method, current, json=body)
        assert old.status_code == new.status_code == 200
        assert old.json() == new.json()
    spec = api.get("/openapi.json").json()["paths"]
    for path in (
        "/contacts/filter",
        "/companies/filter",
        "/common/filters/{service}",
        "/common/filters/{service}/data",
        "/contacts/batch-upsert",
        "/companies/batch-upsert",
    ):
        operations = spec[path].values()
        assert all(operation["deprecated"] is True for operation in operations), path
    assert "deprecated" not in spec["/contacts/"]["post"]


def test_the_filter_catalogue_has_the_documented_metadata(api: TestClient) -> None:
    filters = api.get("/common/filters/companies").json()["data"]

    by_key = {item["key"]: item for item in filters}
    assert by_key["uuid"]["display_name"] == "Name"
    assert by_key["uuid"]["direct_derived"] is False
    assert by_key["website"]["direct_derived"] is True
    assert all({"key", "display_name", "service", "direct_derived"} <= set(f) for f in filters)


def test_the_company_name_dropdown_searches_names(api: TestClient) -> None:
    response = api.post(
        "/common/companies/filters/data", json={"filter_key": "uuid", "search_text": "Tyrell"}
    )

    assert response.status_code == 200
    values = response.json()["data"]
    assert values, "the sample set has Tyrell companies"
    assert all("tyrell" in value["display_value"].lower() for value in values)
    assert all(len(value["value"]) == 36 for value in values)  # the value stays the uuid


def test_health_needs_no_key_and_says_ok(sample_db: str) -> None:
    with app_client() as client:
        response = client.get("/health", headers={"X-API-Key": ""})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "not-the-key"}])
def test_a_missing_or_wrong_key_gets_the_documented_401(
    sample_db: str, headers: dict[str, str]
) -> None:
    with app_client() as client:
        client.headers.pop("X-API-Key")
        response = client.post("/contacts/count", json={}, headers=headers)

    assert response.status_code == 401
    body = response.json()
    assert {key: body[key] for key in SYSTEM_UNAUTHORIZED} == SYSTEM_UNAUTHORIZED


@pytest.fixture
def one_request_a_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key of its own (limits are counted per key in the shared database, so the other
    tests' requests must not count) allowed one request a minute."""
    key = f"compat-limited-{uuid.uuid4().hex}"
    monkeypatch.setenv("API_KEYS", json.dumps({key: "limited"}))
    monkeypatch.setenv("RATE_LIMIT_BURST", "1")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1")
    get_settings.cache_clear()
    yield key
    monkeypatch.undo()
    get_settings.cache_clear()


def test_rate_limiting_answers_the_documented_429(
    sample_db: str, one_request_a_minute: str
) -> None:
    headers = {"X-API-Key": one_request_a_minute}
    with app_client() as client:
        served = client.post("/contacts/count", json={}, headers=headers)
        limited = client.post("/contacts/count", json={}, headers=headers)

    assert served.status_code == 200
    assert limited.status_code == 429
    body = limited.json()
    assert {key: body[key] for key in SYSTEM_RATE_LIMITED} == SYSTEM_RATE_LIMITED
    assert int(limited.headers["Retry-After"]) >= 1


def test_a_page_over_the_maximum_size_gets_the_original_message(api: TestClient) -> None:
    response = api.post("/contacts/", json={"limit": 101})

    assert response.status_code == 400
    assert response.json()["details"][0]["message"] == README_PAGE_SIZE_EXCEEDED


def test_a_browser_preflight_is_answered_without_a_key(sample_db: str) -> None:
    with app_client() as client:
        client.headers.pop("X-API-Key")
        response = client.options(
            "/contacts/",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://app.example.com")
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "x-api-key" in response.headers["access-control-allow-headers"].lower()


def test_responses_carry_cors_headers_and_expose_the_rate_limit_headers(api: TestClient) -> None:
    response = api.post("/contacts/count", json={}, headers={"Origin": "https://x.example"})

    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-ratelimit-remaining" in exposed


def test_cors_origins_are_configurable(sample_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com")
    with app_client() as client:
        allowed = client.post(
            "/contacts/count", json={}, headers={"Origin": "https://app.example.com"}
        )
        other = client.post("/contacts/count", json={}, headers={"Origin": "https://evil.example"})
    monkeypatch.undo()
    get_settings.cache_clear()

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_large_responses_are_gzipped_for_clients_that_accept_it(api: TestClient) -> None:
    body = {"limit": 100}
    plain = api.post("/contacts/", json=body, headers={"Accept-Encoding": "identity"})
    compressed = api.post("/contacts/", json=body, headers={"Accept-Encoding": "gzip"})

    assert "content-encoding" not in plain.headers
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.json() == plain.json()  # the client decompressed it
    assert compressed.num_bytes_downloaded < len(plain.content) / 2
