"""Lenient where the original was lenient (issue 17, item 1), strict where it matters.

The original decoded bodies with Go's `encoding/json`: unknown keys and nulls were
ignored, and its builder never read `fuzzy` on exact/substring or `operator` on exact.
Such bodies are accepted here, and what was ignored is listed in `warnings`.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

TITLE = {"filter_key": "title", "text_value": "engineer"}


def search(api: TestClient, body: dict[str, Any], route: str = "/contacts/") -> dict[str, Any]:
    response = api.post(route, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_unknown_keys_are_ignored_and_reported(api: TestClient) -> None:
    body = {
        "where": {"text_matches": {"must": [{**TITLE, "boost": 2}]}, "geo_distance": {}},
        "track_total_hits": True,
        "limit": 5,
    }

    result = search(api, body)
    reference = search(api, {"where": {"text_matches": {"must": [TITLE]}}, "limit": 5})

    assert result["data"] == reference["data"]
    assert result["warnings"] == [
        "where.text_matches.must[0].boost: unknown key ignored",
        "where.geo_distance: unknown key ignored",
        "track_total_hits: unknown key ignored",
    ]
    assert "warnings" not in reference


@pytest.mark.parametrize(
    "body",
    [
        {"where": None},
        {"order_by": None},
        {"where": {"text_matches": {"must": None, "must_not": None}}},
        {"where": {"keyword_match": None, "range_query": {"must": None}}},
        {"limit": 0},
        {"page": 0},
        {"limit": 0, "page": 0, "select_columns": None, "company_config": None},
    ],
)
def test_nulls_mean_absent_and_zero_means_the_default(
    api: TestClient, body: dict[str, Any]
) -> None:
    result = search(api, body)

    assert (result["page"], result["limit"], len(result["data"])) == (1, 25, 25)
    assert "warnings" not in result
    count = api.post("/contacts/count", json=body)
    assert count.status_code == 200 and count.json()["count"] > 25


@pytest.mark.parametrize(
    ("condition", "ignored"),
    [
        ({"search_type": "exact", "fuzzy": True}, "fuzzy"),
        ({"search_type": "exact", "operator": "or"}, "operator"),
        ({"search_type": "substring", "fuzzy": True}, "fuzzy"),
    ],
)
def test_options_the_original_ignored_for_a_search_type_are_ignored(
    api: TestClient, condition: dict[str, Any], ignored: str
) -> None:
    with_option = search(api, {"where": {"text_matches": {"must": [{**TITLE, **condition}]}}})
    plain = {key: value for key, value in condition.items() if key == "search_type"}
    without = search(api, {"where": {"text_matches": {"must": [{**TITLE, **plain}]}}})

    assert with_option["data"] == without["data"] and with_option["data"]
    assert with_option["warnings"] == [
        f"where.text_matches.must[0].{ignored}: ignored for search_type "
        f"{condition['search_type']!r}"
    ]


def test_numeric_strings_are_accepted_in_ranges(api: TestClient) -> None:
    as_text = {"where": {"range_query": {"must": {"employees_count": {"gte": "100"}}}}}
    as_number = {"where": {"range_query": {"must": {"employees_count": {"gte": 100}}}}}

    text_count = api.post("/companies/count", json=as_text)
    number_count = api.post("/companies/count", json=as_number)

    assert text_count.status_code == 200
    assert text_count.json() == number_count.json()
    assert number_count.json()["count"] > 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        (
            {"where": {"text_matches": {"must": [{"filter_key": "titel", "text_value": "x"}]}}},
            "where.text_matches.must[0].filter_key",
        ),
        (
            {"where": {"keyword_match": {"must": {"seniorty": "vp"}}}},
            "where.keyword_match.must.seniorty",
        ),
        (
            {"where": {"range_query": {"must": {"employees_count": {"gte": "many"}}}}},
            "where.range_query.must.employees_count.gte",
        ),
        (
            {
                "where": {
                    "text_matches": {
                        "must": [{"filter_key": "title", "text_value": "x", "search_type": "regex"}]
                    }
                }
            },
            "where.text_matches.must[0].search_type",
        ),
        (
            {
                "where": {
                    "text_matches": {
                        "must": [{"filter_key": "title", "text_value": "x", "fuzzy": "maybe"}]
                    }
                }
            },
            "where.text_matches.must[0].fuzzy",
        ),
    ],
)
def test_what_would_be_ambiguous_stays_a_400_naming_the_path(
    api: TestClient, body: dict[str, Any], path: str
) -> None:
    response = api.post(
        "/companies/" if "employees_count" in str(body) else "/contacts/", json=body
    )

    assert response.status_code == 400, response.text
    assert path in [problem["path"] for problem in response.json()["details"]]


@pytest.mark.parametrize(
    "body",
    [
        {"limit": "5"},
        {"where": {"text_matches": {"must": [{**TITLE, "fuzzy": "yes"}]}}},
    ],
)
def test_strings_for_numbers_and_booleans_are_400_as_in_the_original(
    api: TestClient, body: dict[str, Any]
) -> None:
    response = api.post("/contacts/", json=body)

    assert response.status_code == 400


def test_filter_data_and_job_list_are_lenient_too(api: TestClient) -> None:
    data = api.post(
        "/common/filters/contacts/data",
        json={"filter_key": "seniority", "search_text": None, "page": 0, "limit": 0, "sort": "x"},
    )
    jobs = api.post("/common/jobs", json={"status": None, "limit": 0, "page": 2})

    assert data.status_code == 200, data.text
    assert (data.json()["page"], data.json()["limit"]) == (1, 25)
    assert data.json()["warnings"] == ["sort: unknown key ignored"]
    assert jobs.status_code == 200, jobs.text
    assert jobs.json()["warnings"] == ["page: unknown key ignored"]
