"""The PostgreSQL text functions (migration 0008_unicode_text) equal their Python twins
(`connectra.vql.text`) on text in every script: the same folded text, the same words, the
same keyword lower-casing and the same fuzzy edit distance; and migration 0024's
connectra_word_start_grams holds every short substring matched at a word start; and the
characters where pg_trgm's words and connectra's part are all listed."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.rows import dict_row

from connectra.models.char_classes import (
    CJK_CLASS,
    JOINED_LETTER_RANGES,
    SPLIT_LETTER_RANGES,
    WORD_CLASS,
)
from connectra.vql.fuzzy import edit_distance, max_edits, term_matches
from connectra.vql.fuzzy_sql import fuzzy_match
from connectra.vql.sql import Params
from connectra.vql.text import fold, lower, starts_word, words

SAMPLES = [
    "Главный инженер Ёлкин",
    "ΔΙΕΥΘΥΝΤΗΣ Λογισμικού · διευθυντής",
    "TÜRKİYE İstanbul Yazılım Mühendisi ıIiİ",
    "ソフトウェアエンジニア 東京電機株式会社 がぎぐ ﾊﾟｿｺﾝ",
    "서울 소프트웨어 엔지니어",
    "مهندس برمجيات",
    "क्षत्रिय सॉफ्टवेयर इंजीनियर",
    "วิศวกรซอฟต์แวร์",
    "Søren Ærø Straße ẞ Łódź Đorđe Þór œuvre ﬁnance ½ ①",
    "O'Brien-Smith john.smith@acme.com",
    "𠀀𠀁 𝐀𝐁 😀 e\u0301 \u0130",
    "",
]
# Text in many scripts, with marks, punctuation, spaces and supplementary characters.
unicode_text = st.text(
    alphabet=st.characters(
        whitelist_categories=(
            "Lu",
            "Ll",
            "Lt",
            "Lm",
            "Lo",
            "Mn",
            "Mc",
            "Nd",
            "No",
            "Pd",
            "Po",
            "Zs",
        ),
        max_codepoint=0x2FFFF,
    ),
    max_size=12,
)


def folded_and_words(conn: psycopg.Connection[Any], value: str) -> tuple[str, list[str]]:
    row = conn.execute(
        "SELECT connectra_fold(%(v)s) AS folded, connectra_words(%(v)s) AS words, "
        "lower(%(v)s) AS lowered",
        {"v": value},
    ).fetchone()
    assert row is not None
    assert row["lowered"] == lower(value)
    return row["folded"], row["words"]


@pytest.fixture(scope="module")
def text_conn(database_url: str) -> Any:
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("value", SAMPLES)
def test_samples_fold_and_split_as_in_python(
    text_conn: psycopg.Connection[Any], value: str
) -> None:
    assert folded_and_words(text_conn, value) == (fold(value), words(fold(value)))


def test_null_folds_to_null(text_conn: psycopg.Connection[Any]) -> None:
    row = text_conn.execute(
        "SELECT connectra_fold(NULL) AS folded, connectra_words(NULL) AS words"
    ).fetchone()
    assert row == {"folded": None, "words": None}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=unicode_text)
def test_random_unicode_folds_and_splits_as_in_python(
    text_conn: psycopg.Connection[Any], value: str
) -> None:
    assert folded_and_words(text_conn, value) == (fold(value), words(fold(value)))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    left=st.text(alphabet="abcdeé", max_size=7),
    right=st.text(alphabet="abcdeé", max_size=7),
)
def test_fuzzy_edit_distance_counts_transpositions_as_python_does(
    text_conn: psycopg.Connection[Any], left: str, right: str
) -> None:
    row = text_conn.execute(
        "SELECT connectra_osa_distance(%(l)s, %(r)s) AS distance, "
        "connectra_fuzzy_match(ARRAY[%(l)s], %(r)s, 2) AS within_two",
        {"l": left, "r": right},
    ).fetchone()
    assert row is not None
    distance = edit_distance(left, right)
    assert row["distance"] == distance
    assert row["within_two"] is (distance <= 2)


@st.composite
def term_and_near_word(draw: st.DrawFn) -> tuple[str, str]:
    """A fuzzy term (3-9 characters: 1 or 2 edits) and a word 0-4 random edits from it
    (insertions, deletions, substitutions, adjacent swaps): near misses on both sides of
    the edit bound, transpositions included."""
    alphabet = "abcdé"
    term = draw(st.text(alphabet=alphabet, min_size=3, max_size=9))
    word = term
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        kind = draw(st.sampled_from(["insert", "delete", "substitute", "swap"]))
        at = draw(st.integers(min_value=0, max_value=max(len(word) - 1, 0)))
        char = draw(st.sampled_from(alphabet))
        if kind == "insert":
            word = word[:at] + char + word[at:]
        elif kind == "delete" and word:
            word = word[:at] + word[at + 1 :]
        elif kind == "substitute" and word:
            word = word[:at] + char + word[at + 1 :]
        elif kind == "swap" and at + 1 < len(word):
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return term, word


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pair=term_and_near_word(), other=st.text(alphabet="abcdé", max_size=9))
def test_the_compiled_fuzzy_match_is_pythons(
    text_conn: psycopg.Connection[Any], pair: tuple[str, str], other: str
) -> None:
    """vql/fuzzy_sql.py writes the fuzzy check inline (no SQL function call per row): it keeps
    the semantics of connectra_fuzzy_match and of the Python evaluator (term_matches)."""
    term, word = pair
    params = Params()
    words = params.add([word, other])
    match = fuzzy_match(params, term, sql.SQL("{}::text[]").format(words), max_edits(term))
    row = text_conn.execute(sql.SQL("SELECT {} AS matched").format(match), params.values).fetchone()
    assert row is not None
    expected = term_matches(term, word, fuzzy=True) or term_matches(term, other, fuzzy=True)
    assert row["matched"] is expected


def short_word_start_substrings(folded: str) -> set[str]:
    """Every 1-2 character substring the engine matches at a word start (text.starts_word,
    the semantics of a substring term under 3 characters)."""
    return {
        folded[start : start + length]
        for start in range(len(folded))
        if starts_word(folded, start)
        for length in (1, 2)
        if start + length <= len(folded)
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=unicode_text | st.text(alphabet="ab1 -.東é\u0301", max_size=10))
def test_word_start_grams_hold_every_short_substring_at_a_word_start(
    text_conn: psycopg.Connection[Any], value: str
) -> None:
    """The word-start GIN loses no match: the index's array holds each such substring."""
    folded = fold(value)
    row = text_conn.execute(
        "SELECT connectra_word_start_grams(%(f)s) AS grams", {"f": folded}
    ).fetchone()
    assert row is not None
    assert short_word_start_substrings(folded) <= set(row["grams"] or [])


def test_every_character_where_pg_trgm_and_connectra_part_is_listed(
    text_conn: psycopg.Connection[Any],
) -> None:
    """A character the server's locale takes for a letter or digit (pg_trgm's word
    characters: `[[:alnum:]]` is the same iswalnum) that connectra_fold keeps and
    connectra_words takes for a separator joins words for pg_trgm; a word character of
    connectra_words that the locale does not take for one cuts them. The fuzzy prefilter
    must OR their rows in (JOINED_LETTER_RANGES, SPLIT_LETTER_RANGES in HOLDS_CJK_PATTERN)."""
    rows = text_conn.execute(
        "SELECT code, chr(code) ~ '[[:alnum:]]' AS alnum FROM generate_series(1, 1114111) "
        "AS code WHERE code < 55296 OR code > 57343"
    ).fetchall()
    connectra_word = re.compile(f"[{WORD_CLASS}]")
    cjk = re.compile(f"[{CJK_CLASS}]")
    joined, split = set(), set()
    for row in rows:
        char = chr(row["code"])
        if cjk.fullmatch(char) or char not in fold(char):
            continue  # CJK rows are kept anyway; a character folded away is never seen
        word = connectra_word.fullmatch(char) is not None
        if row["alnum"] and not word:
            joined.add(row["code"])
        elif word and not row["alnum"]:
            split.add(row["code"])
    listed_joined = {code for low, high in JOINED_LETTER_RANGES for code in range(low, high + 1)}
    listed_split = {code for low, high in SPLIT_LETTER_RANGES for code in range(low, high + 1)}
    assert joined <= listed_joined, sorted(hex(code) for code in joined - listed_joined)
    assert split <= listed_split, sorted(hex(code) for code in split - listed_split)
