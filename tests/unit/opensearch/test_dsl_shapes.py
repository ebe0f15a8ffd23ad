"""Specific shapes of the emitted DSL, and the documents and mappings they run on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity
from connectra.search.index_model import build_document, index_body, mappings, word_starts
from connectra.vql.cursor import encode_cursor
from connectra.vql.dsl import (
    STRING_MAX,
    compile_count,
    compile_search,
    escape_wildcard,
    from_sort_values,
    to_search_after,
)
from connectra.vql.field_paths import LONG_MAX, LONG_MIN, from_micros, to_micros
from connectra.vql.fuzzy import FUZZY_EXPANSION_BUDGET, MAX_FUZZY_TERMS
from connectra.vql.parse import parse_request

SECRET = "shapes"


def body(vql: dict[str, Any], entity: Entity = Entity.CONTACTS) -> dict[str, Any]:
    return compile_search(parse_request(vql, entity, cursor_secret=SECRET))


def text(*conditions: dict[str, Any], must_not: bool = False) -> dict[str, Any]:
    return {"where": {"text_matches": {"must_not" if must_not else "must": list(conditions)}}}


def first_filter(vql: dict[str, Any]) -> dict[str, Any]:
    clause: dict[str, Any] = body(vql)["query"]["bool"]["filter"][0]
    return clause


def test_shuffle_fuzzy_uses_auto_with_transpositions_and_shares_the_expansions() -> None:
    clause = first_filter(
        text({"filter_key": "title", "text_value": "Sr  Engineer", "fuzzy": True})
    )
    assert clause == {
        "match": {
            "title__text": {
                "query": "sr engineer",
                "operator": "and",
                "fuzziness": "AUTO",
                "fuzzy_transpositions": True,
                "prefix_length": 0,
                "max_expansions": FUZZY_EXPANSION_BUDGET // 2,  # two fuzzy terms share it
            }
        }
    }


def test_shuffle_not_fuzzy_has_no_fuzziness_and_keeps_operator_or() -> None:
    clause = first_filter(text({"filter_key": "title", "text_value": "a b", "operator": "or"}))
    assert clause == {"match": {"title__text": {"query": "a b", "operator": "or"}}}


def test_exact_without_slop_is_a_phrase_and_with_slop_an_ordered_span() -> None:
    phrase = first_filter(
        text({"filter_key": "title", "text_value": "Data Engineer", "search_type": "exact"})
    )
    assert phrase == {"match_phrase": {"title__text": {"query": "data engineer"}}}
    span = first_filter(
        text(
            {
                "filter_key": "title",
                "text_value": "senior engineer",
                "search_type": "exact",
                "slop": 2,
            }
        )
    )
    assert span == {
        "span_near": {
            "clauses": [
                {"span_term": {"title__text": "senior"}},
                {"span_term": {"title__text": "engineer"}},
            ],
            "slop": 2,
            "in_order": True,
        }
    }


def test_substring_picks_the_field_by_length() -> None:
    def substring(value: str) -> dict[str, Any]:
        return first_filter(
            text({"filter_key": "email", "text_value": value, "search_type": "substring"})
        )

    assert substring("Jo") == {"term": {"email__starts": "jo"}}
    assert substring("@acme.co") == {"term": {"email__text.ngram": "@acme.co"}}
    assert substring("abcdefghij") == {"term": {"email__text.ngram": "abcdefghij"}}
    assert substring("john.smith@a*c?") == {
        "wildcard": {"email__text.folded": {"value": "*john.smith@a\\*c\\?*"}}
    }


def test_wildcard_escaping_covers_backslash() -> None:
    assert escape_wildcard("a\\b*c?d") == "a\\\\b\\*c\\?d"


def test_same_key_conditions_form_one_should_group() -> None:
    group = first_filter(
        text(
            {"filter_key": "title", "text_value": "cto", "search_type": "exact"},
            {"filter_key": "title", "text_value": "ceo"},
        )
    )
    assert group == {
        "bool": {
            "should": [
                {"match_phrase": {"title__text": {"query": "cto"}}},
                {"match": {"title__text": {"query": "ceo", "operator": "and"}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_must_not_lists_every_condition_and_no_filter() -> None:
    vql = {
        "where": {
            "text_matches": {"must_not": [{"filter_key": "title", "text_value": "intern"}]},
            "keyword_match": {"must_not": {"departments": ["Sales", "HR"]}},
        }
    }
    query = body(vql)["query"]
    assert query == {
        "bool": {
            "must_not": [
                {"match": {"title__text": {"query": "intern", "operator": "and"}}},
                {"terms": {"departments": ["sales", "hr"]}},
            ]
        }
    }


def test_keywords_use_the_lowercase_subfield_arrays_and_uuids_the_field() -> None:
    vql = {
        "where": {
            "keyword_match": {
                "must": {
                    "Country".lower(): "United States",
                    "company_industries": ["Internet"],
                    "company_id": "A0000000-0000-4000-8000-000000000001",
                }
            }
        }
    }
    filters = body(vql)["query"]["bool"]["filter"]
    assert filters == [
        {"terms": {"country.lower": ["united states"]}},
        {"terms": {"company_industries": ["internet"]}},
        {"terms": {"company_id": ["a0000000-0000-4000-8000-000000000001"]}},
    ]


def test_ranges_are_exact_longs() -> None:
    vql = {
        "where": {
            "range_query": {
                "must": {
                    "created_at": {"gte": "2024-01-01", "lt": "2024-02-01T00:00:00+01:00"},
                    "company_employees_count": {"gt": 10.5, "lte": 99.9},
                }
            }
        }
    }
    filters = body(vql)["query"]["bool"]["filter"]
    assert filters[0] == {
        "range": {
            "created_at": {
                "gte": to_micros(datetime(2024, 1, 1, tzinfo=UTC)),
                "lt": to_micros(datetime(2024, 1, 31, 23, tzinfo=UTC)),
            }
        }
    }
    # x > 10.5 ⟺ x > 10 on integers; x <= 99.9 ⟺ x <= 99
    assert filters[1] == {"range": {"company_employees_count": {"gt": 10, "lte": 99}}}


def test_ranges_beyond_the_long_range() -> None:
    def clause(bounds: dict[str, Any]) -> dict[str, Any]:
        return first_filter(
            {"where": {"range_query": {"must": {"company_annual_revenue": bounds}}}}
        )

    assert clause({"gte": 1e20}) == {"match_none": {}}
    assert clause({"lte": 1e20}) == {"exists": {"field": "company_annual_revenue"}}
    assert clause({"gte": -1e20, "lt": 5}) == {"range": {"company_annual_revenue": {"lt": 5}}}


def test_sort_has_far_end_missing_values_and_the_uuid_tie_break() -> None:
    vql = {
        "order_by": [
            {"order_by": "last_name", "order_direction": "asc"},
            {"order_by": "company_employees_count", "order_direction": "desc"},
        ]
    }
    assert body(vql)["sort"] == [
        {"last_name": {"order": "asc", "missing": STRING_MAX}},
        {"company_employees_count": {"order": "desc", "missing": LONG_MIN}},
        {"uuid": {"order": "desc"}},
    ]


def test_paging_from_size_and_source() -> None:
    page = body({"page": 3, "limit": 10})
    assert (page["from"], page["size"], page["_source"]) == (20, 11, False)
    assert page["track_total_hits"] is False
    assert "search_after" not in page


def test_search_after_converts_nulls_and_dates_both_ways() -> None:
    vql: dict[str, Any] = {
        "order_by": [
            {"order_by": "created_at", "order_direction": "asc"},
            {"order_by": "title", "order_direction": "desc"},
        ]
    }
    query = parse_request(vql, Entity.CONTACTS, cursor_secret=SECRET)
    moment = datetime(2024, 3, 10, 12, 30, 15, 123456, tzinfo=UTC)
    hit_sort = [to_micros(moment), "", "c0000000-0000-4000-8000-000000000007"]
    values = from_sort_values(query.sort, hit_sort)
    assert values == (moment, None, "c0000000-0000-4000-8000-000000000007")

    cursor = encode_cursor(values, query.fingerprint, SECRET)
    resumed = body({**vql, "search_after": cursor})
    assert resumed["search_after"] == hit_sort
    assert "from" not in resumed
    assert to_search_after(query.sort, (None, "x", "u")) == [LONG_MAX, "x", "u"]


def test_empty_query_is_match_all_and_count_tracks_hits() -> None:
    query = parse_request({}, Entity.COMPANIES, cursor_secret=SECRET)
    assert compile_count(query) == {
        "query": {"match_all": {}},
        "size": 0,
        "track_total_hits": True,
    }


# -- index model -----------------------------------------------------------------------------


def test_word_starts_follow_the_ast_rule() -> None:
    assert word_starts("o'brien") == ["o", "o'", "b", "br"]
    assert word_starts("marketing intern") == ["m", "ma", "i", "in"]
    assert word_starts("a-b") == ["a", "a-", "b"]


def test_micros_round_trip_exactly() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert from_micros(to_micros(moment)) == moment
    assert to_micros(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1


def test_contact_document_carries_live_company_fields_only() -> None:
    row: dict[str, Any] = {
        "uuid": "c0000000-0000-4000-8000-000000000001",
        "first_name": "Zoë",
        "departments": ["Engineering"],
        "company_id": "a0000000-0000-4000-8000-000000000001",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 2, tzinfo=UTC),
        "company__name": "Acme",
        "company__employees_count": 50,
        "company__updated_at": datetime(2024, 1, 3, tzinfo=UTC),
        "company__deleted_at": None,
    }
    document = build_document(Entity.CONTACTS, row)
    assert document["first_name"] == "Zoë"
    assert document["first_name__text"] == "zoe"
    assert document["company_name__text"] == "acme"
    assert document["company_employees_count"] == 50
    assert document["source_version"] == str(to_micros(datetime(2024, 1, 3, tzinfo=UTC)))
    assert "last_name" not in document  # NULL: no value at all

    gone = build_document(
        Entity.CONTACTS, {**row, "company__deleted_at": datetime(2024, 1, 4, tzinfo=UTC)}
    )
    assert not any(key.startswith("company_") and key != "company_id" for key in gone)
    assert gone["source_version"] == str(to_micros(datetime(2024, 1, 4, tzinfo=UTC)))


def test_index_body_sets_ngram_window_and_strict_mappings() -> None:
    index = index_body(Entity.CONTACTS)
    settings = index["settings"]["index"]
    assert settings["max_ngram_diff"] == 7
    assert settings["analysis"]["tokenizer"]["connectra_grams"] == {
        "type": "ngram",
        "min_gram": 3,
        "max_gram": 10,
    }
    properties = mappings(Entity.CONTACTS)["properties"]
    assert mappings(Entity.CONTACTS)["dynamic"] == "strict"
    assert properties["title__text"]["fields"]["ngram"]["analyzer"] == "connectra_grams"
    assert properties["company_employees_count"] == {"type": "long"}
    assert properties["seniority"]["fields"]["lower"]["normalizer"] == "connectra_lower"


def test_substring_terms_are_one_clause_each_and_or_any() -> None:
    condition = {"filter_key": "title", "text_value": "Soft  EN", "search_type": "substring"}
    every = first_filter(text(condition))
    any_of = first_filter(text({**condition, "operator": "or"}))
    clauses = [{"term": {"title__text.ngram": "soft"}}, {"term": {"title__starts": "en"}}]

    assert every == {"bool": {"filter": clauses}}
    assert any_of == {"bool": {"should": clauses, "minimum_should_match": 1}}


def test_fuzzy_terms_of_a_query_are_bounded() -> None:
    words = " ".join(f"word{index:02d}" for index in range(MAX_FUZZY_TERMS + 1))
    vql = text({"filter_key": "title", "text_value": words, "fuzzy": True})

    with pytest.raises(ValidationFailed) as raised:
        body(vql)

    assert raised.value.details[0]["path"] == "where.text_matches.must[0].text_value"
