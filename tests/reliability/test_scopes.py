"""Scopes on every route: a key without the route's scope gets 403 naming it, a key with
only that scope gets past the check. Routes say their scope in the OpenAPI
(`x-required-scope`), and this test fails for a route that does not."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.api.app import create_app
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore

PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
SCOPES = ("read", "write", "admin")
BY_JOB_TYPE = "read (export) or write (import)"


def _entry(scopes: list[str]) -> dict[str, Any]:
    # One consumer for every key: they share jobs, so a job's scope can be tried by each.
    return {"consumer": "acme", "scopes": scopes, "plan": "pro"}


KEYS: dict[str, dict[str, Any]] = {
    **{f"only-{scope}": _entry([scope]) for scope in SCOPES},
    **{f"all-but-{scope}": _entry([s for s in SCOPES if s != scope]) for scope in SCOPES},
}


@pytest.fixture
def scoped_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("API_KEYS", json.dumps(KEYS))
    monkeypatch.setenv("RATE_LIMIT_BURST", "100000")  # scopes here, not limits
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _key(name: str) -> dict[str, str]:
    return {"X-API-Key": name}


def operations() -> list[tuple[str, str, Any]]:
    """(method, concrete path, x-required-scope) of every protected operation."""
    found = []
    for template, methods in create_app().openapi()["paths"].items():
        if template in PUBLIC:
            continue
        path = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), template.replace("{service}", "contacts"))
        for method, operation in methods.items():
            found.append((method.upper(), path, operation.get("x-required-scope")))
    return found


def test_every_protected_route_states_its_scope() -> None:
    ops = operations()

    assert len(ops) >= 20
    allowed = {*SCOPES, "any", BY_JOB_TYPE}
    assert [op for op in ops if op[2] not in allowed] == []
    assert {op[2] for op in ops} == allowed


def test_a_key_without_the_routes_scope_gets_403_naming_it(
    api: TestClient, scoped_keys: None
) -> None:
    for method, path, scope in operations():
        if scope not in SCOPES:
            continue
        refused = api.request(method, path, headers=_key(f"all-but-{scope}"), json={})
        passed = api.request(method, path, headers=_key(f"only-{scope}"), json={})

        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"] == "forbidden"
        assert refused.json()["details"]["scope"] == scope
        assert scope in refused.json()["message"]
        assert passed.status_code not in (401, 403), (method, path, passed.text)


def test_job_routes_need_only_a_valid_key_of_any_scope(api: TestClient, scoped_keys: None) -> None:
    for method, path, scope in operations():
        if scope != "any":
            continue
        for name in ("only-read", "only-write", "only-admin"):
            response = api.request(method, path, headers=_key(name), json={})
            assert response.status_code not in (401, 403), (method, path, name, response.text)


def test_jobs_need_the_scope_of_their_type(
    api: TestClient, scoped_keys: None, store: ObjectStore
) -> None:
    export = {"job_type": "export", "entity": "contacts", "vql": {}}

    # Creating: an export needs read, an import (upload URL, or an S3 key) write
    export_by_writer = api.post("/common/jobs/create", json=export, headers=_key("only-write"))
    created = api.post("/common/jobs/create", json=export, headers=_key("only-read"))
    import_body = {"job_type": "import", "entity": "contacts", "s3_key": "uploads/x.csv"}
    import_by_reader = api.post("/common/jobs/create", json=import_body, headers=_key("only-read"))
    upload = api.get(
        "/common/upload-url",
        params={"filename": "a.csv", "entity": "contacts"},
        headers=_key("only-write"),
    )
    assert export_by_writer.status_code == 403
    assert export_by_writer.json()["details"]["scope"] == "read"
    assert created.status_code == 201, created.text
    assert import_by_reader.status_code == 403
    assert import_by_reader.json()["details"]["scope"] == "write"
    assert upload.status_code == 200, upload.text

    # Cancelling: each job with the other key is refused, with its own key allowed
    export_id, import_id = created.json()["job_id"], upload.json()["job_id"]
    wrong = [
        api.post(f"/common/jobs/{export_id}/cancel", headers=_key("only-write")),
        api.post(f"/common/jobs/{import_id}/cancel", headers=_key("only-read")),
    ]
    right = [
        api.post(f"/common/jobs/{export_id}/cancel", headers=_key("only-read")),
        api.post(f"/common/jobs/{import_id}/cancel", headers=_key("only-write")),
    ]
    assert [r.json()["details"]["scope"] for r in wrong] == ["read", "write"]
    assert [r.status_code for r in right] == [200, 200], [r.text for r in right]
    assert {r.json()["status"] for r in right} == {"cancelled"}


def test_the_development_key_keeps_every_scope(api: TestClient) -> None:
    headers = {"X-API-Key": "connectra-dev-key"}

    assert api.post("/contacts/count", json={}, headers=headers).status_code == 200
    created = api.post("/companies/create", json={"name": "Acme"}, headers=headers)
    assert created.status_code == 201, created.text
    keys = api.get("/admin/keys", headers=headers)
    assert keys.status_code == 200, keys.text
    (dev,) = keys.json()["data"]
    assert (dev["consumer"], dev["plan"]) == ("dev", "enterprise")
    assert dev["scopes"] == ["admin", "read", "write"]
    assert "connectra-dev-key" not in keys.text  # values are never shown
