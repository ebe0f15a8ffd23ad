"""`/health/deep` names the search structure set the tables carry (db/search_structures.py).

The open `/health` is shallow since the deploy branch: it touches no dependency."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_names_the_present_set(client: TestClient) -> None:
    body = client.get("/health/deep").json()  # the client sends a key
    assert body["database"]["search_structures"] == "postgres"
    assert body["search"]["search_structures"] == "postgres"
