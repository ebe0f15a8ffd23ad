"""VQL parsing: the AST it builds and the paths its errors name."""

from __future__ import annotations

from typing import Any

import pytest

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity
from connectra.vql.ast import Direction, KeywordCondition, SearchType, TextCondition
from connectra.vql.parse import parse_request


def error_paths(body: dict[str, Any], entity: Entity = Entity.CONTACTS) -> list[str]:
    with pytest.raises(ValidationFailed) as raised:
        parse_request(body, entity, cursor_secret="s")
    return [problem["path"] for problem in raised.value.details]


def text(**condition: Any) -> dict[str, Any]:
    return {"where": {"text_matches": {"must": [{"filter_key": "title", **condition}]}}}


def test_same_key_text_conditions_form_one_any_of_group() -> None:
    body = {
        "where": {
            "text_matches": {
                "must": [
                    {"filter_key": "title", "text_value": "a b"},
                    {"filter_key": "title", "text_value": "Ça va", "search_type": "exact"},
                    {"filter_key": "last_name", "text_value": "x"},
                ]
            }
        }
    }

    query = parse_request(body, Entity.CONTACTS, cursor_secret="s")

    assert [len(group.conditions) for group in query.filter.must] == [2, 1]
    exact = query.filter.must[0].conditions[1]
    assert isinstance(exact, TextCondition)
    assert exact.search_type is SearchType.EXACT
    assert exact.terms == ("ca", "va")


def test_keyword_values_are_lower_cased_and_a_single_value_is_a_list() -> None:
    query = parse_request(
        {"where": {"keyword_match": {"must": {"seniority": "Senior"}}}},
        Entity.CONTACTS,
        cursor_secret="s",
    )

    condition = query.filter.must[0].conditions[0]
    assert isinstance(condition, KeywordCondition)
    assert condition.values == ("senior",)


def test_sort_always_ends_with_uuid_in_the_last_direction() -> None:
    query = parse_request(
        {"order_by": [{"order_by": "created_at", "order_direction": "desc"}]},
        Entity.CONTACTS,
        cursor_secret="s",
    )

    assert [(key.field.name, key.direction) for key in query.sort] == [
        ("created_at", Direction.DESC),
        ("uuid", Direction.DESC),
    ]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (text(text_value="  "), "where.text_matches.must[0].text_value"),
        (text(text_value="!!", search_type="exact"), "where.text_matches.must[0].text_value"),
        (text(text_value="a", search_type="regex"), "where.text_matches.must[0].search_type"),
        (
            {"where": {"text_matches": {"must": [{"filter_key": "seniority", "text_value": "a"}]}}},
            "where.text_matches.must[0].filter_key",
        ),
        (
            {"where": {"keyword_match": {"must": {"created_at": "x"}}}},
            "where.keyword_match.must.created_at",
        ),
        (
            {"where": {"keyword_match": {"must": {"seniority": []}}}},
            "where.keyword_match.must.seniority",
        ),
        (
            {"where": {"keyword_match": {"must": {"company_id": ["nope"]}}}},
            "where.keyword_match.must.company_id[0]",
        ),
        (
            {"where": {"range_query": {"must": {"title": {"gte": 1}}}}},
            "where.range_query.must.title",
        ),
        (
            {"where": {"range_query": {"must": {"created_at": {}}}}},
            "where.range_query.must.created_at",
        ),
        (
            {"where": {"range_query": {"must": {"created_at": {"gte": "soon"}}}}},
            "where.range_query.must.created_at.gte",
        ),
        (
            {"where": {"range_query": {"must": {"created_at": {"gte": True}}}}},
            "where.range_query.must.created_at.gte",
        ),
        ({"order_by": [{"order_by": "departments"}]}, "order_by[0].order_by"),
        (
            {"order_by": [{"order_by": "title", "order_direction": "up"}]},
            "order_by[0].order_direction",
        ),
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        (
            {"where": {"range_query": {"must": {"company_employees_count": {"lt": "ten"}}}}},
            "where.range_query.must.company_employees_count.lt",
        ),
        (
            {"where": {"range_query": {"must": {"company_employees_count": {"lt": "1e999"}}}}},
            "where.range_query.must.company_employees_count.lt",
        ),
        (
            text(text_value="a", search_type="exact", fuzzy="yes"),
            "where.text_matches.must[0].fuzzy",
        ),
        (text(text_value="a", slop=-1, search_type="exact"), "where.text_matches.must[0].slop"),
        (
            {"where": {"keyword_match": {"must": {"seniority": None}}}},
            "where.keyword_match.must.seniority",
        ),
        ({"page": 500, "limit": 100}, "page"),
        ({"page": 2, "search_after": "x.y"}, "page"),
        ({"limit": "ten"}, "limit"),
        ({"select_columns": ["email", "password"]}, "select_columns[1]"),
        (
            {"company_config": {"populate": True, "select_columns": ["revenue"]}},
            "company_config.select_columns[0]",
        ),
        ({"search_after": "not-a-cursor"}, "search_after"),
        (
            {"where": {"keyword_match": {"must": {"seniority": "a\x00"}}}},
            "where.keyword_match.must.seniority",
        ),
    ],
)
def test_invalid_queries_name_the_offending_path(body: dict[str, Any], path: str) -> None:
    assert path in error_paths(body)


def test_companies_have_no_company_to_populate() -> None:
    assert error_paths({"company_config": {"populate": True}}, Entity.COMPANIES) == [
        "company_config"
    ]


def test_every_problem_is_reported_at_once() -> None:
    body = {
        "where": {"text_matches": {"must": [{"filter_key": "nope", "text_value": ""}]}},
        "order_by": [{"order_by": "departments"}],
    }

    assert error_paths(body) == [
        "where.text_matches.must[0].filter_key",
        "where.text_matches.must[0].text_value",
        "order_by[0].order_by",
    ]
