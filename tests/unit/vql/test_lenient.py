"""VQL leniency of the original: what it ignored is dropped with a warning; the rest is
validated as strictly as ever."""

from __future__ import annotations

from typing import Any

import pytest

from connectra.models.fields import Entity
from connectra.vql.ast import KeywordCondition, RangeCondition, SearchType, TextCondition
from connectra.vql.models import DEFAULT_LIMIT, VQLQuery
from connectra.vql.parse import parse_query


def lenient(body: dict[str, Any]) -> tuple[VQLQuery, list[str]]:
    query = VQLQuery.model_validate(body)
    parse_query(query, Entity.CONTACTS, cursor_secret="s")  # and it parses
    return query, query.warnings


def test_unknown_keys_at_every_level_are_dropped_and_named_in_warnings() -> None:
    _, warnings = lenient(
        {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "cto", "boost": 2}],
                    "should": [],
                },
                "geo": {},
            },
            "order_by": [{"order_by": "title", "order_direction": "asc", "nulls": "last"}],
            "company_config": {"populate": True, "include_deleted": True},
            "track_total_hits": True,
        }
    )

    assert warnings == [
        "where.text_matches.must[0].boost: unknown key ignored",
        "where.text_matches.should: unknown key ignored",
        "where.geo: unknown key ignored",
        "order_by[0].nulls: unknown key ignored",
        "company_config.include_deleted: unknown key ignored",
        "track_total_hits: unknown key ignored",
    ]


def test_nulls_mean_absent_and_zero_limit_or_page_mean_the_defaults() -> None:
    query, warnings = lenient(
        {
            "where": {"text_matches": {"must": None, "must_not": None}, "range_query": None},
            "order_by": None,
            "select_columns": None,
            "company_config": None,
            "search_after": None,
            "limit": 0,
            "page": 0,
        }
    )

    assert (query.limit, query.page, query.order_by, query.where.text_matches.must) == (
        DEFAULT_LIMIT,
        1,
        [],
        [],
    )
    assert warnings == []


@pytest.mark.parametrize(
    ("condition", "ignored"),
    [
        ({"search_type": "exact", "fuzzy": True}, ["fuzzy"]),
        ({"search_type": "exact", "operator": "or"}, ["operator"]),
        ({"search_type": "substring", "fuzzy": True}, ["fuzzy"]),
        ({"search_type": "shuffle", "slop": 2}, ["slop"]),
        ({"search_type": "exact", "fuzzy": False, "operator": "and"}, ["operator"]),
    ],
)
def test_options_the_original_never_read_for_a_search_type_are_ignored(
    condition: dict[str, Any], ignored: list[str]
) -> None:
    query, warnings = lenient(
        {
            "where": {
                "text_matches": {"must": [{"filter_key": "title", "text_value": "cto"} | condition]}
            }
        }
    )

    assert warnings == [
        f"where.text_matches.must[0].{name}: ignored for search_type {condition['search_type']!r}"
        for name in ignored
    ]
    parsed = parse_query(query, Entity.CONTACTS, cursor_secret="s").filter.must[0].conditions[0]
    assert isinstance(parsed, TextCondition)
    assert parsed.search_type is SearchType(condition["search_type"])
    assert parsed.fuzzy is False


def test_numeric_strings_are_numbers_in_ranges_of_number_fields() -> None:
    query, _ = lenient(
        {
            "where": {
                "range_query": {
                    "must": {"company_employees_count": {"gte": "100", "lt": " 2.5e3 "}}
                }
            }
        }
    )

    parsed = parse_query(query, Entity.CONTACTS, cursor_secret="s").filter.must[0].conditions[0]
    assert isinstance(parsed, RangeCondition)
    assert (parsed.gte, parsed.lt) == (100, 2500.0)


def test_a_null_inside_a_keyword_map_is_not_guessed() -> None:
    with pytest.raises(ValueError, match="seniority"):
        VQLQuery.model_validate({"where": {"keyword_match": {"must": {"seniority": None}}}})


def test_a_well_formed_query_has_no_warnings() -> None:
    query, warnings = lenient(
        {"where": {"keyword_match": {"must": {"seniority": "vp"}}}, "limit": 5}
    )

    assert warnings == []
    parsed = parse_query(query, Entity.CONTACTS, cursor_secret="s").filter.must[0].conditions[0]
    assert isinstance(parsed, KeywordCondition)
