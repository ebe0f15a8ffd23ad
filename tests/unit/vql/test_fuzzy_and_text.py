"""AUTO edit distances, Levenshtein, folding and phrase matching."""

from __future__ import annotations

import pytest

from connectra.vql.fuzzy import levenshtein, max_edits, term_matches
from connectra.vql.text import fold, phrase_matches, words


@pytest.mark.parametrize(
    ("term", "edits"),
    [("a", 0), ("ab", 0), ("abc", 1), ("abcde", 1), ("abcdef", 2), ("engineering", 2)],
)
def test_auto_edit_distance_by_term_length(term: str, edits: int) -> None:
    assert max_edits(term) == edits


@pytest.mark.parametrize(
    ("left", "right", "distance"),
    [("", "abc", 3), ("kitten", "sitting", 3), ("engineer", "enginer", 1), ("ab", "ba", 2)],
)
def test_levenshtein(left: str, right: str, distance: int) -> None:
    assert levenshtein(left, right) == distance
    assert levenshtein(right, left) == distance


def test_fuzzy_terms_match_within_their_budget_only() -> None:
    assert term_matches("enginer", "engineer", fuzzy=True)
    assert not term_matches("enginer", "engineer", fuzzy=False)
    assert not term_matches("ab", "ac", fuzzy=True)  # two letters: no edits
    assert not term_matches("engxxxeer", "engineer", fuzzy=True)  # three edits


def test_fold_removes_accents_and_case_like_unaccent() -> None:
    assert fold("Søren ŁUKASZ Zoë Straße Œuvre") == "soren lukasz zoe strasse oeuvre"
    assert words(fold("Co-Founder & CEO, São Paulo")) == ["co", "founder", "ceo", "sao", "paulo"]


@pytest.mark.parametrize(
    ("field", "terms", "slop", "expected"),
    [
        ("senior software engineer", ("software", "engineer"), 0, True),
        ("senior software engineer", ("senior", "engineer"), 0, False),
        ("senior software engineer", ("senior", "engineer"), 1, True),
        ("engineer software senior", ("senior", "engineer"), 5, False),
        ("a x b a b", ("a", "b"), 0, True),  # a later start can be the adjacent one
    ],
)
def test_phrase_matching(field: str, terms: tuple[str, ...], slop: int, expected: bool) -> None:
    assert phrase_matches(field.split(), terms, slop) is expected
