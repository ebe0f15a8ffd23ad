"""The VQL examples of the README and the API README, on both route sets, and the
search-type examples of the README's table."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.compat.documents import API_README_VQL, README_SEARCH_TYPES, README_VQL


def titles(api: TestClient, condition: dict[str, Any]) -> list[str]:
    body = {
        "where": {"text_matches": {"must": [{"filter_key": "title", **condition}]}},
        "select_columns": ["title"],
        "limit": 100,
    }
    response = api.post("/contacts/", json=body)
    assert response.status_code == 200, response.text
    return [row["title"] for row in response.json()["data"]]


@pytest.mark.parametrize("route", ["/contacts/", "/contacts/filter"])
def test_the_readme_vql_example_returns_its_columns_and_populated_companies(
    api: TestClient, route: str
) -> None:
    response = api.post(route, json=README_VQL)

    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) >= {"data", "page", "limit"} and "warnings" not in page
    assert (page["page"], page["limit"]) == (1, 25)
    assert page["data"], "the sample set holds matches of the README example"
    for row in page["data"]:
        assert set(row) - {"company"} == {"uuid", "first_name", "last_name", "email", "title"}
        assert "intern" not in row["title"].lower()
        assert set(row["company"]) == {"uuid", "name", "website", "industries"}
    created = [row["uuid"] for row in page["data"]]
    assert len(created) == len(set(created))


@pytest.mark.parametrize("route", ["/contacts/", "/contacts/filter"])
def test_the_api_readme_vql_example_matches_its_conditions(api: TestClient, route: str) -> None:
    response = api.post(route, json=API_README_VQL)

    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert rows, "the sample set holds matches of the API README example"
    for row in rows:
        assert row["seniority"] in ("senior", "lead")
        assert row["country"].lower() == "united states"
        assert set(row["company"]) == {"uuid", "name", "website", "industries"}
        company = api.get(f"/companies/{row['company_id']}").json()["data"]
        assert 100 <= company["employees_count"] <= 1000
    count = api.post("/contacts/count", json=API_README_VQL)
    assert count.status_code == 200
    assert count.json()["count"] >= len(rows)


def test_the_examples_count_on_the_count_route_as_many_as_they_page(api: TestClient) -> None:
    everything = {**README_VQL, "limit": 100}
    page = api.post("/contacts/", json=everything).json()
    count = api.post("/contacts/count", json=README_VQL)

    assert count.status_code == 200
    assert count.json()["count"] == len(page["data"])


@pytest.mark.parametrize(("search_type", "text_value", "finds"), README_SEARCH_TYPES)
def test_the_readme_search_type_table(
    api: TestClient, search_type: str, text_value: str, finds: str
) -> None:
    condition: dict[str, Any] = {"text_value": text_value, "search_type": search_type}
    if search_type == "exact":
        condition["slop"] = 1  # "with configurable slop": one word may come between

    assert finds in titles(api, condition)


def test_a_multi_word_substring_matches_each_word_anywhere(api: TestClient) -> None:
    found = titles(api, {"text_value": "soft eng", "search_type": "substring"})

    assert "Senior Software Engineer" in found


def test_substring_with_operator_or_matches_any_word(api: TestClient) -> None:
    found = titles(
        api, {"text_value": "recruit founder", "search_type": "substring", "operator": "or"}
    )

    assert {"Recruiter", "Founder"} <= set(found)


def test_the_companies_routes_take_vql_too(api: TestClient) -> None:
    body = {"where": {"range_query": {"must": {"employees_count": {"gte": 100}}}}, "limit": 5}

    old = api.post("/companies/filter", json=body)
    new = api.post("/companies/", json=body)

    assert old.status_code == new.status_code == 200
    assert old.json() == new.json()
    assert all(row["employees_count"] >= 100 for row in new.json()["data"])
