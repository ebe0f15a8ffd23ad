"""The PostgreSQL text functions (migration 0008_unicode_text) equal their Python twins
(`connectra.vql.text`) on text in every script: the same folded text, the same words, the
same keyword lower-casing and the same fuzzy edit distance."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from connectra.vql.fuzzy import edit_distance
from connectra.vql.text import fold, lower, words

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
