"""The aggregate routes end to end through the app (PostgreSQL engine), their 400s, the
field-access hook and the result cache of count and aggregate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.search import result_cache
from connectra.search.result_cache import ResultCache
from connectra.settings import get_settings

EXAMPLE: dict[str, Any] = {
    "where": {"keyword_match": {"must": {"country": "germany"}}},
    "aggregations": [
        {"name": "by_seniority", "type": "terms", "field": "seniority", "size": 10},
        {
            "name": "by_size",
            "type": "range",
            "field": "company_employees_count",
            "ranges": [{"lt": 50}, {"gte": 50, "lt": 500}, {"gte": 500}],
        },
        {"name": "by_month", "type": "date_histogram", "field": "created_at", "interval": "month"},
    ],
}


def _seed(client: TestClient) -> None:
    big = client.post(
        "/companies/create", json={"name": "Big GmbH", "normalized_domain": "big.de",
                                   "employees_count": 900, "country": "Germany"},
    ).json()["data"]  # fmt: skip
    for index, (seniority, departments) in enumerate(
        [("VP", ["Sales"]), ("vp ", ["Sales", "sales", "Ops"]), ("Senior", []), (None, ["Ops"])]
    ):
        response = client.post(
            "/contacts/create",
            json={
                "first_name": f"P{index}",
                "last_name": "Test",
                "email": f"p{index}@big.de",
                "seniority": seniority,
                "departments": departments,
                "country": "Germany",
                "company_id": big["uuid"],
            },
        )
        assert response.status_code == 201, response.text
    client.post("/contacts/create", json={"first_name": "F", "last_name": "R",
                                          "email": "f@r.fr", "country": "France"})  # fmt: skip


def test_the_spec_example_answers_every_aggregation(client: TestClient) -> None:
    _seed(client)

    response = client.post("/contacts/aggregate", json=EXAMPLE)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4
    assert body["cached"] is False
    assert body["aggregations"]["by_seniority"] == {
        "buckets": [{"key": "vp", "count": 2}, {"key": "senior", "count": 1}],
        "other_count": 0,
        "missing_count": 1,
    }
    assert body["aggregations"]["by_size"]["buckets"] == [
        {"lt": 50, "count": 0},
        {"gte": 50, "lt": 500, "count": 0},
        {"gte": 500, "count": 4},
    ]
    assert sum(b["count"] for b in body["aggregations"]["by_month"]["buckets"]) == 4
    assert list(body["aggregations"]) == ["by_seniority", "by_size", "by_month"]


def test_array_values_count_once_per_record_on_companies_too(client: TestClient) -> None:
    _seed(client)
    body = {"aggregations": [{"name": "d", "type": "terms", "field": "departments", "size": 1}]}

    found = client.post("/contacts/aggregate", json=body).json()["aggregations"]["d"]

    assert found == {
        "buckets": [{"key": "ops", "count": 2}],
        "other_count": 2,  # the two records holding "sales" (one of them holds ops too)
        "missing_count": 2,
    }
    companies = client.post(
        "/companies/aggregate",
        json={"aggregations": [{"name": "c", "type": "terms", "field": "country"}]},
    )
    assert companies.json()["aggregations"]["c"]["buckets"] == [{"key": "germany", "count": 1}]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"aggregations": []}, "aggregations"),
        ({"aggregations": [{"name": "a", "type": "terms", "field": "x"}] * 6}, "aggregations"),
        (
            {"aggregations": [{"name": "a", "type": "terms", "field": "nope"}]},
            "aggregations[0].field",
        ),
        (
            {"aggregations": [{"name": "a", "type": "terms", "field": "created_at"}]},
            "aggregations[0].field",
        ),
        (
            {"aggregations": [{"name": "a", "type": "terms", "field": "title", "size": 1001}]},
            "aggregations[0].size",
        ),
        (
            {"aggregations": [{"name": "a", "type": "median", "field": "title"}]},
            "aggregations[0].type",
        ),
        (
            {"aggregations": [{"name": "a", "type": "range", "field": "created_at"}]},
            "aggregations[0].ranges",
        ),
        (
            {
                "aggregations": [
                    {
                        "name": "a",
                        "type": "range",
                        "field": "company_employees_count",
                        "ranges": [{"gt": 5}],
                    }
                ]
            },
            "aggregations[0].ranges[0].gt",
        ),
        (
            {
                "aggregations": [
                    {
                        "name": "a",
                        "type": "range",
                        "field": "company_employees_count",
                        "ranges": [{"gte": 9, "lt": 5}],
                    }
                ]
            },
            "aggregations[0].ranges[0]",
        ),
        (
            {
                "aggregations": [
                    {
                        "name": "a",
                        "type": "range",
                        "field": "created_at",
                        "ranges": [{"lt": "yesterday"}],
                    }
                ]
            },
            "aggregations[0].ranges[0].lt",
        ),
        (
            {
                "aggregations": [
                    {
                        "name": "a",
                        "type": "date_histogram",
                        "field": "created_at",
                        "interval": "hour",
                    }
                ]
            },
            "aggregations[0].interval",
        ),
        (
            {
                "aggregations": [
                    {"name": "a", "type": "date_histogram", "field": "title", "interval": "day"}
                ]
            },
            "aggregations[0].field",
        ),
        (
            {"aggregations": [{"name": "a", "type": "terms", "field": "title", "interval": "day"}]},
            "aggregations[0].interval",
        ),
        (
            {
                "aggregations": [
                    {"name": "a", "type": "terms", "field": "title"},
                    {"name": "a", "type": "terms", "field": "city"},
                ]
            },
            "aggregations[1].name",
        ),
        (
            {
                "where": {"keyword_match": {"must": {"bogus": "x"}}},
                "aggregations": [{"name": "a", "type": "terms", "field": "title"}],
            },
            "where.keyword_match.must.bogus",
        ),
    ],
)
def test_bad_requests_are_400_naming_the_path(
    client: TestClient, body: dict[str, Any], path: str
) -> None:
    response = client.post("/contacts/aggregate", json=body)

    assert response.status_code == 400, response.text
    assert path in [problem["path"] for problem in response.json()["details"]]


def test_where_and_aggregation_problems_come_in_one_answer(client: TestClient) -> None:
    body = {
        "where": {"keyword_match": {"must": {"bogus": "x"}}},
        "aggregations": [{"name": "a", "type": "terms", "field": "nope"}],
    }

    paths = [p["path"] for p in client.post("/contacts/aggregate", json=body).json()["details"]]

    assert paths == ["where.keyword_match.must.bogus", "aggregations[0].field"]


FREE = {"X-API-Key": "free-key"}


@pytest.fixture
def free_plan(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A key on the free plan, whose premium fields (email) the caller may not use: since
    the aggregations merge the hidden fields come from the caller's plan (`access_for`,
    via connectra.consumers.gating), so the test sends a free key rather than overriding
    `get_field_access`, which the count route no longer consults for its 403."""
    keys = {"free-key": {"consumer": "freebie", "scopes": ["read"], "plan": "free"}}
    monkeypatch.setenv("API_KEYS", json.dumps(keys))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_field_the_plan_hides_is_403_naming_it(client: TestClient, free_plan: None) -> None:
    body = {"aggregations": [{"name": "e", "type": "terms", "field": "email"}]}

    response = client.post("/contacts/aggregate", json=body, headers=FREE)
    count = client.post(
        "/contacts/count",
        json={"where": {"keyword_match": {"must": {"email": "a@b.c"}}}},
        headers=FREE,
    )

    assert response.status_code == 403, response.text
    assert response.json()["details"] == {
        "field": "email", "path": "aggregations[0].field", "plan": "free"
    }  # fmt: skip
    assert count.status_code == 403, count.text
    assert count.json()["details"]["field"] == "email"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    cache = ResultCache(ttl_seconds=30, clock=clock)
    monkeypatch.setattr(result_cache, "get_result_cache", lambda: cache)
    for module in ("connectra.api.routes.records", "connectra.api.routes.aggregate"):
        monkeypatch.setattr(f"{module}.get_result_cache", lambda: cache)
    yield clock


def test_identical_queries_are_cached_until_the_ttl(client: TestClient, cache_on: Clock) -> None:
    _seed(client)
    count_body = {"where": {"keyword_match": {"must": {"country": "germany"}}}}
    respelled = {"where": {"keyword_match": {"must": {"country": ["GERMANY"]}}}}

    first = client.post("/contacts/count", json=count_body).json()
    again = client.post("/contacts/count", json=respelled).json()
    aggregated = [client.post("/contacts/aggregate", json=EXAMPLE).json() for _ in range(2)]
    _seed_more(client)
    stale = client.post("/contacts/count", json=count_body).json()
    cache_on.now += 31
    fresh = client.post("/contacts/count", json=count_body).json()

    # Counts carry their relation since the queryshapes merge (bounded counts).
    assert (first, again) == (
        {"count": 4, "relation": "eq", "cached": False},
        {"count": 4, "relation": "eq", "cached": True},
    )
    assert [a["cached"] for a in aggregated] == [False, True]
    assert aggregated[0]["aggregations"] == aggregated[1]["aggregations"]
    assert stale == {"count": 4, "relation": "eq", "cached": True}
    assert fresh == {"count": 5, "relation": "eq", "cached": False}


def _seed_more(client: TestClient) -> None:
    new = {"first_name": "N", "last_name": "W", "email": "n@w.de", "country": "Germany"}
    response = client.post("/contacts/create", json=new)
    assert response.status_code == 201
