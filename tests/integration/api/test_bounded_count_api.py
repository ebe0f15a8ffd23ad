"""`POST /{entity}/count`: exact up to the bound, `relation: gte` beyond, `exact_count`.

Counts say whether they came from the result cache (`cached`, since the aggregations
branch); the tests run with RESULT_CACHE_TTL_SECONDS=0 (tests/conftest.py), so never."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from connectra.settings import get_settings


def test_a_count_past_the_bound_says_gte_and_exact_count_counts_all(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNT_EXACT_UP_TO", "2")
    get_settings.cache_clear()
    for index in range(3):
        created = client.post("/companies/create", json={"name": f"Acme {index}"})
        assert created.status_code == 201, created.text

    assert client.post("/companies/count", json={}).json() == {
        "count": 2,
        "relation": "gte",
        "cached": False,
    }
    exact = client.post("/companies/count", json={"exact_count": True})
    assert exact.json() == {"count": 3, "relation": "eq", "cached": False}
    narrow = {"where": {"text_matches": {"must": [{"filter_key": "name", "text_value": "0"}]}}}
    assert client.post("/companies/count", json=narrow).json() == {
        "count": 1,
        "relation": "eq",
        "cached": False,
    }
    monkeypatch.undo()
    get_settings.cache_clear()


def test_exact_count_must_be_a_boolean(client: TestClient) -> None:
    response = client.post("/contacts/count", json={"exact_count": "sometimes"})
    assert response.status_code == 400
    assert "exact_count" in response.text
