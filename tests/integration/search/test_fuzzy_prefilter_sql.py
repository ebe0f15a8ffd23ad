"""The fuzzy trigram prefilter, as PostgreSQL runs it, loses no match: a folded text holding
a word within AUTO edits of a term, among other words, passes the term's prefilter as the
compiler writes it (vql/fuzzy_sql.py: `folded %>> prefilter` under
strict_similarity_threshold where the term takes it, else `folded %> prefilter` under
fuzzy_similarity_threshold), both through the trigram GIN (its count bound, then the
recheck) and as a plain operator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.rows import dict_row

from connectra.vql.fuzzy import term_matches
from connectra.vql.fuzzy_sql import (
    fuzzy_prefilter,
    fuzzy_similarity_threshold,
    strict_similarity_threshold,
    takes_strict_prefilter,
)
from tests.edited_words import term_and_edited_word
from tests.integration.search.test_property import check_titles_agree, property_conn

__all__ = ["property_conn"]  # the fixture check_titles_agree's connection comes from

ALPHABET = "abcde"
# Other words around the matching one, and what separates them (pg_trgm cuts at both).
OTHER_WORDS = st.lists(st.text(alphabet=ALPHABET + "xyz", min_size=1, max_size=9), max_size=3)
SEPARATORS = st.sampled_from([" ", "-", " . ", "'"])


@pytest.fixture(scope="module")
def prefilter_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute("CREATE TEMP TABLE folded_texts (folded text)")
        conn.execute("CREATE INDEX ON folded_texts USING gin (folded gin_trgm_ops)")
        conn.commit()
        yield conn


def passes(conn: psycopg.Connection[Any], folded: str, term: str, indexed: bool) -> bool:
    """Whether `folded` passes the term's prefilter under the term's threshold, read
    through the GIN (`indexed`, sequential scans priced out) or filtered row by row."""
    prefilter = fuzzy_prefilter(term)
    if takes_strict_prefilter(term):
        setting, operator = "strict_word_similarity_threshold", "%>>"
        threshold = strict_similarity_threshold([term])
    else:
        setting, operator = "word_similarity_threshold", "%>"
        threshold = fuzzy_similarity_threshold([prefilter])
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT set_config(%s, %s, true), "
            "set_config('enable_seqscan', %s, true), set_config('enable_bitmapscan', %s, true)",
            (
                f"pg_trgm.{setting}",
                str(threshold),
                "off" if indexed else "on",
                "on" if indexed else "off",
            ),
        )
        conn.execute("INSERT INTO folded_texts VALUES (%s)", (folded,))
        row = conn.execute(
            sql.SQL("SELECT count(*) AS found FROM folded_texts WHERE folded {} {}").format(
                sql.SQL(operator), prefilter
            )
        ).fetchone()
        return row is not None and row["found"] == 1


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pair=term_and_edited_word(ALPHABET, (3, 10), 2),
    before=OTHER_WORDS,
    after=OTHER_WORDS,
    separator=SEPARATORS,
)
def test_a_text_holding_a_fuzzy_match_passes_the_prefilter(
    prefilter_conn: psycopg.Connection[Any],
    pair: tuple[str, str],
    before: list[str],
    after: list[str],
    separator: str,
) -> None:
    term, word = pair
    if not term_matches(term, word, fuzzy=True):
        return
    folded = separator.join([*before, word, *after])
    assert passes(prefilter_conn, folded, term, indexed=True), (term, folded)
    assert passes(prefilter_conn, folded, term, indexed=False), (term, folded)


def test_a_text_without_the_terms_letters_fails_the_prefilter(
    prefilter_conn: psycopg.Connection[Any],
) -> None:
    # The check above can fail: "yvxzq" needs 2 of its trigrams in one word ("  y" alone,
    # the first letter, is not enough now).
    assert not passes(prefilter_conn, "yak ostrich", "yvxzq", indexed=True)
    assert passes(prefilter_conn, "yak yvxqz", "yvxzq", indexed=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pair=term_and_edited_word(ALPHABET, (3, 10), 2),
    joined=st.sampled_from(["🅰", "🅐", "🆉", "\ufe0f", "\u0e47"]),
    side=st.sampled_from(["before", "after", "both", "inside"]),
)
# `cax` keeps only "  c", " ca" of `cat`, which `🅰cax` (one pg_trgm word) lacks; `slaes`
# keeps 2 trigrams of `sales` (strict), `slaes🅰` only "  s".
@example(pair=("cat", "cax"), joined="🅰", side="before")
@example(pair=("sales", "slaes"), joined="🅰", side="after")
def test_a_word_against_a_letter_pg_trgm_joins_is_found_as_the_evaluator_finds_it(
    property_conn: psycopg.Connection[Any], pair: tuple[str, str], joined: str, side: str
) -> None:
    """pg_trgm joins `🅰cax` into one word where connectra_words finds `cax`, and cuts
    `sa\ufe0fles` in two where connectra_words finds one: the rows holding such a character
    pass the fuzzy prefilter whole (JOINED_LETTER_RANGES, SPLIT_LETTER_RANGES)."""
    term, word = pair
    if side == "inside":
        title = f"{word[:2]}{joined}{word[2:]}"
    else:
        title = f"{joined if side != 'after' else ''}{word}{joined if side != 'before' else ''}"
    check_titles_agree(property_conn, (term, [title]), "", "and", fuzzy=True, search_type=None)
