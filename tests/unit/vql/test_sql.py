"""The SQL compiler binds every value; hostile text never reaches the SQL text."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.models.fields import Entity
from connectra.vql.parse import parse_request
from connectra.vql.sql import compile_count, compile_search
from connectra.vql.text import WORD_START_PRECEDER, word_start_pattern

INJECTION = "x'); DROP TABLE contacts; --"


def sql_text(compiled: Any) -> str:
    # as_string needs a connection context only for literals; ours has none, so None works.
    return str(compiled.statement.as_string(None))


@pytest.mark.parametrize(
    "where",
    [
        {
            "text_matches": {
                "must": [{"filter_key": "title", "text_value": INJECTION, "search_type": st}]
            }
        }
        for st in ("exact", "shuffle", "substring")
    ]
    + [
        {
            "text_matches": {
                "must": [{"filter_key": "title", "text_value": INJECTION, "fuzzy": True}]
            }
        },
        {"keyword_match": {"must": {"seniority": [INJECTION]}, "must_not": {"city": INJECTION}}},
        {"keyword_match": {"must": {"company_name": INJECTION}}},
    ],
)
def test_values_are_bound_parameters_never_sql_text(where: dict[str, Any]) -> None:
    query = parse_request({"where": where}, Entity.CONTACTS, cursor_secret="s")

    for compiled in (compile_search(query), compile_count(query)):
        text = sql_text(compiled)
        assert "DROP" not in text.upper()
        assert "drop" in repr(compiled.params).lower()  # the words went to the params
        assert all(f"%({name})s" in text for name in compiled.params)


def test_company_fields_join_the_live_company() -> None:
    query = parse_request(
        {"where": {"range_query": {"must": {"company_employees_count": {"gte": 10}}}}},
        Entity.CONTACTS,
        cursor_secret="s",
    )

    text = sql_text(compile_search(query))

    assert "LEFT JOIN companies AS co" in text
    assert "co.deleted_at IS NULL" in text


def test_fuzzy_sets_a_strict_threshold_under_the_terms_floor() -> None:
    query = parse_request(
        {
            "where": {
                "text_matches": {
                    "must": [{"filter_key": "title", "text_value": "enginer", "fuzzy": True}]
                }
            }
        },
        Entity.CONTACTS,
        cursor_secret="s",
    )

    setting = compile_search(query).settings["pg_trgm.strict_word_similarity_threshold"]

    # "enginer" and its swap variants: 30 distinct trigrams, 2 of them in any match, whose
    # word has at most 10 trigrams: 2 / (30 + 10 - 2).
    assert 0 < float(setting) < 2 / 38


def test_short_substrings_escape_every_character_of_the_term() -> None:
    # Every character is a \\u escape: nothing of the term is regular-expression syntax.
    assert word_start_pattern("a.") == WORD_START_PRECEDER + "\\u0061\\u002E"
    assert word_start_pattern("東") == "\\u6771"  # a CJK character starts a word anywhere


def test_a_compiled_query_is_valid_sql(conn: psycopg.Connection[Any]) -> None:
    query = parse_request(
        {
            "where": {"keyword_match": {"must": {"seniority": INJECTION}}},
            "order_by": [{"order_by": "last_name"}],
        },
        Entity.CONTACTS,
        cursor_secret="s",
    )
    compiled = compile_search(query)

    assert conn.execute(compiled.statement, compiled.params).fetchall() == []
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone() == {"n": 0}
