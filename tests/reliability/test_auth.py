"""Auth and rate limits: no key or a wrong key is 401 on every protected route, another
consumer's job is a 404 that reveals nothing, API Gateway mode needs the key id, and a
throttled consumer gets 429 with its headers while others are served."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from mangum import Mangum

from connectra.api.app import create_app
from connectra.consumers import key_table
from connectra.consumers.access import Scope
from connectra.consumers.key_table import KeyRecord
from connectra.consumers.limiter import SharedLimiter
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore

PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def protected_routes() -> list[tuple[str, str]]:
    """(method, concrete path) of every route that needs a key, path parameters filled."""
    routes: list[tuple[str, str]] = []
    for template, operations in create_app().openapi()["paths"].items():
        if template in PUBLIC:
            continue
        path = template.replace("{service}", "contacts")
        path = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
        routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == code


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "not-a-key"}, {"X-API-Key": "key-of-alice "}]
)
def test_every_protected_route_refuses_a_missing_or_wrong_key(
    api: TestClient,
    two_consumers: dict[str, str],
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_FAILURES_PER_MINUTE", "100000")  # every route, not throttled
    get_settings.cache_clear()
    routes = protected_routes()
    assert len(routes) >= 12

    for method, path in routes:
        # The body is junk on purpose: the key is checked before anything else
        response = api.request(method, path, headers=headers, json={"junk": True})
        assert_error(response, 401, "unauthorized")


def test_another_consumers_job_is_404_and_reveals_nothing(
    store: ObjectStore, api: TestClient, two_consumers: dict[str, str]
) -> None:
    # Given a job created by alice
    alice = {"X-API-Key": two_consumers["alice"]}
    bob = {"X-API-Key": two_consumers["bob"]}
    grant = api.get(
        "/common/upload-url",
        params={"filename": "secret-list.csv", "entity": "contacts"},
        headers=alice,
    )
    assert grant.status_code == 200, grant.text
    job_id = grant.json()["job_id"]

    # When bob asks for it, and for a job that does not exist
    theirs = api.get(f"/common/jobs/{job_id}", headers=bob)
    missing = api.get(f"/common/jobs/{uuid.uuid4()}", headers=bob)

    # Then both are the same 404, and nothing of alice's job leaks
    assert_error(theirs, 404, "not_found")
    assert theirs.json()["details"] == missing.json()["details"]
    assert "secret-list" not in theirs.text and "uploads/" not in theirs.text
    assert api.get(f"/common/jobs/{job_id}", headers=alice).json()["status"] == "awaiting_upload"


def api_gateway_event(events_dir: Path, api_key_id: str | None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((events_dir / "api_health.json").read_text())
    event.update(
        resource="/{proxy+}",
        path="/contacts/count",
        httpMethod="POST",
        body=json.dumps({}),
        headers={**event["headers"], "Content-Type": "application/json"},
    )
    event["multiValueHeaders"]["Content-Type"] = ["application/json"]
    event["requestContext"]["identity"]["apiKeyId"] = api_key_id
    return event


def test_api_gateway_mode_needs_the_callers_key_id(
    clean_db: str, events_dir: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the app in API Gateway mode (the gateway enforced the key; the app reads its
    # id) and the key id k3yid registered in the key table
    monkeypatch.setenv("AUTH_MODE", "apigateway")
    get_settings.cache_clear()
    with psycopg.connect(clean_db) as conn:
        key_table.insert(conn, KeyRecord("k3yid", "acme", "acme", "pro", frozenset({Scope.READ})))
    handler = Mangum(create_app(), lifespan="off")
    try:
        # When requests arrive without a key id, with one, with an unregistered one, and
        # not through API Gateway
        without = handler(api_gateway_event(events_dir, None), lambda_context)
        with_id = handler(api_gateway_event(events_dir, "k3yid"), lambda_context)
        unknown = handler(api_gateway_event(events_dir, "n0tkn0wn"), lambda_context)
        direct = TestClient(create_app()).post(
            "/contacts/count", json={}, headers={"X-API-Key": "connectra-dev-key"}
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    # Then only the request carrying requestContext.identity.apiKeyId is served
    assert without["statusCode"] == 401
    assert json.loads(without["body"])["error"] == "unauthorized"
    assert with_id["statusCode"] == 200, with_id["body"]
    assert json.loads(with_id["body"]) == {"count": 0, "relation": "eq", "cached": False}
    assert unknown["statusCode"] == 403
    assert json.loads(unknown["body"])["details"] == {"key_id": "n0tkn0wn"}
    assert_error(direct, 401, "unauthorized")  # an X-API-Key alone is not enough


def test_a_throttled_consumer_gets_429_with_headers_and_others_are_served(
    api: TestClient,
    limiter: SharedLimiter,
    two_consumers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 3 requests a minute for every plan, on a frozen clock
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "3")
    get_settings.cache_clear()
    frozen = time.time()
    limiter.clock = lambda: frozen
    alice = {"X-API-Key": two_consumers["alice"]}
    bob = {"X-API-Key": two_consumers["bob"]}

    # When alice spends her minute, then tries to create a contact
    served = [api.post("/contacts/count", json={}, headers=alice) for _ in range(3)]
    limited = api.post("/contacts/create", json={"email": "x@example.com"}, headers=alice)
    other = api.post("/contacts/count", json={}, headers=bob)

    # Then her served responses count down, the 4th is a 429 that did nothing
    assert [r.headers["X-RateLimit-Remaining"] for r in served] == ["2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in served)
    assert all(r.headers["X-RateLimit-Level"] == "minute" for r in served)
    assert_error(limited, 429, "rate limit exceeded")
    assert limited.json()["details"]["level"] == "minute"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) >= 1
    assert api.post("/contacts/count", json={}, headers=bob).json() == {
        "count": 0,
        "relation": "eq",
        "cached": False,
    }
    # And bob has his own windows
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"
