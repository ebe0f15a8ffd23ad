"""The VQL cost budget (issue 11 item 2, D2): a query is admitted or refused before it runs.

On main a `shuffle` condition with `fuzzy: true`, `operator: "or"` and 25 seven-letter
words ran into the 30 s statement timeout (a 500), and identical conditions each cost
their full price. Now the request is a 400 naming the part over budget, and identical
conditions are merged before anything is charged or run.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectra.models.fields import Entity
from connectra.settings import DEV_API_KEY
from connectra.vql import budget
from connectra.vql.parse import parse_request

HEADERS = {"X-API-Key": DEV_API_KEY}
SEVEN_LETTER_WORDS = (
    "abalone acrobat balcony cabinet dolphin eclipse fortune gallery harmony imagine "
    "journey kitchen library machine network octopus pancake quarter rainbow sausage "
    "teacher unicorn volcano weather yoghurt"
)


def _fuzzy(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "filter_key": "title",
        "text_value": text,
        "search_type": "shuffle",
        "fuzzy": True,
        "operator": "or",
        **extra,
    }


def _where_text(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"where": {"text_matches": {"must": list(conditions)}}}


def test_the_d2_query_is_refused_before_it_runs_naming_the_part(api: TestClient) -> None:
    started = time.monotonic()
    response = api.post("/contacts/", headers=HEADERS, json=_where_text(_fuzzy(SEVEN_LETTER_WORDS)))
    assert time.monotonic() - started < 5
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "query_over_budget"
    parts = {problem["part"]: problem for problem in body["details"]}
    assert parts["fuzzy_terms"]["path"] == "where.text_matches.must[0].text_value"
    assert parts["fuzzy_terms"]["requested"] == 25
    assert parts["fuzzy_terms"]["limit"] == budget.LIMITS["fuzzy_terms"].maximum
    assert "terms_per_condition" in parts


def test_the_count_route_and_export_vql_are_refused_too(api: TestClient) -> None:
    response = api.post(
        "/contacts/count", headers=HEADERS, json=_where_text(_fuzzy(SEVEN_LETTER_WORDS))
    )
    assert response.status_code == 400
    with pytest.raises(budget.QueryOverBudget):
        parse_request(_where_text(_fuzzy(SEVEN_LETTER_WORDS)), Entity.CONTACTS)


def test_an_over_budget_where_on_aggregate_is_query_over_budget(api: TestClient) -> None:
    """On the merged main the aggregate route answered `validation_error` for a valid
    but over-budget `where`; it is the same refusal as on search and count."""
    body = {
        **_where_text(_fuzzy(SEVEN_LETTER_WORDS)),
        "aggregations": [{"name": "by_seniority", "type": "terms", "field": "seniority"}],
    }
    response = api.post("/contacts/aggregate", headers=HEADERS, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == "query_over_budget"
    parts = {problem["part"]: problem for problem in answer["details"]}
    assert parts["fuzzy_terms"]["path"] == "where.text_matches.must[0].text_value"


def test_an_invalid_aggregation_is_reported_before_the_budget(api: TestClient) -> None:
    """As for a search: invalid parts first (all of them), the budget once they are valid."""
    body = {
        **_where_text(_fuzzy(SEVEN_LETTER_WORDS)),
        "aggregations": [{"name": "by_nothing", "type": "terms", "field": "no_such_field"}],
    }
    response = api.post("/contacts/aggregate", headers=HEADERS, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == "validation_error"
    assert answer["details"][0]["path"].startswith("aggregations[0]")


def test_identical_conditions_are_merged_and_charged_once() -> None:
    words = " ".join(SEVEN_LETTER_WORDS.split()[: budget.max_fuzzy_terms()])  # the whole budget
    query = parse_request(_where_text(*[_fuzzy(words)] * 5), Entity.CONTACTS)
    assert len(query.filter.must) == 1
    assert len(query.filter.must[0].conditions) == 1
    negated = {"where": {"text_matches": {"must_not": [_fuzzy(words)] * 3}}}
    assert len(parse_request(negated, Entity.CONTACTS).filter.must_not) == 1


def test_each_part_over_its_limit_is_named() -> None:
    substring = [
        {"filter_key": "title", "text_value": f"word{i}", "search_type": "substring"}
        for i in range(budget.LIMITS["substring_conditions"].maximum + 1)
    ]
    with pytest.raises(budget.QueryOverBudget) as refused:
        parse_request(_where_text(*substring), Entity.CONTACTS)
    assert refused.value.details[0]["part"] == "substring_conditions"
    assert refused.value.details[0]["path"] == f"where.text_matches.must[{len(substring) - 1}]"

    deep = {"page": 500, "limit": 100}
    with pytest.raises(budget.QueryOverBudget) as refused:
        parse_request(deep, Entity.CONTACTS)
    assert refused.value.details[0]["part"] == "page_depth"


def test_the_budget_is_stated_in_the_api_docs(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]["VQLQuery"]
    for name in budget.VQL_PARTS:
        limit = budget.LIMITS[name]
        assert f"`{name}` ≤ {limit.maximum}" in schema["description"]


def test_other_request_kinds_spend_from_the_same_budget() -> None:
    """The aggregations branch charges its requests the same way."""
    spent = budget.Budget()
    for index in range(budget.LIMITS["aggregations"].maximum + 1):
        spent.spend(budget.AGGREGATIONS, 1, f"aggregations[{index}]")
    with pytest.raises(budget.QueryOverBudget) as refused:
        spent.admit()
    assert refused.value.details[0]["path"] == "aggregations[5]"


@pytest.mark.parametrize(
    ("field", "value"),
    [("limit", "5"), ("page", "2"), ("limit", 5.5), ("limit", True)],
)
def test_lax_numbers_are_rejected(api: TestClient, field: str, value: Any) -> None:
    """D13: the original's decoder rejected `"limit": "5"`; so does this API."""
    response = api.post("/contacts/", headers=HEADERS, json={field: value})
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == field


@pytest.mark.parametrize(("field", "value"), [("fuzzy", "yes"), ("fuzzy", 1), ("slop", "2")])
def test_lax_text_options_are_rejected(api: TestClient, field: str, value: Any) -> None:
    condition = {"filter_key": "title", "text_value": "engineer", field: value}
    response = api.post("/contacts/", headers=HEADERS, json=_where_text(condition))
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == f"where.text_matches.must[0].{field}"


def test_numeric_strings_in_range_values_are_not_made_stricter(api: TestClient) -> None:
    """The compat branch accepts `"gte": "100"` as the original did; this one adds no type
    rule there (the shape still validates as a range bound)."""
    body = {"where": {"range_query": {"must": {"created_at": {"gte": "2024-01-01"}}}}}
    assert api.post("/contacts/count", headers=HEADERS, json=body).status_code == 200


def test_only_one_short_substring_is_admitted() -> None:
    """A substring under 3 characters matches word starts with no index (measured: a
    sequential scan of 1M contacts), so a query may hold one."""
    short = [
        {"filter_key": key, "text_value": "an", "search_type": "substring"}
        for key in ("first_name", "last_name")
    ]
    parse_request(_where_text(short[0]), Entity.CONTACTS)
    with pytest.raises(budget.QueryOverBudget) as refused:
        parse_request(_where_text(*short), Entity.CONTACTS)
    assert refused.value.details[0]["part"] == "short_substrings"
