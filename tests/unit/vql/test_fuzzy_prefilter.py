"""The fuzzy trigram prefilter loses no match (vql/fuzzy_sql.py `fuzzy_prefilter`, and the
bounds `fuzzy_similarity_threshold` relies on): every word within AUTO edits of a term
shares a trigram with the prefilter text, as pg_trgm extracts trigrams (each word padded
to "  word "), at least `shared_trigram_floor` of them, and its strict word similarity to
the prefilter is at least `strict_similarity_floor`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectra.vql.fuzzy import term_matches
from connectra.vql.fuzzy_sql import (
    fuzzy_prefilter,
    fuzzy_similarity_threshold,
    shared_trigram_floor,
    strict_similarity_floor,
    strict_similarity_threshold,
    swap_variants,
    takes_strict_prefilter,
    trigram_count_bound,
)
from tests.edited_words import term_and_edited_word

ALPHABET = "abcde"


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of lower-case letter words separated by spaces."""
    found: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        found |= {padded[i : i + 3] for i in range(len(padded) - 2)}
    return found


# A term of 3-12 letters and a word 1-2 random edits from it, adjacent swaps included
# (the edits a fuzzy match allows, and the transpositions that need the variants).
TERM_AND_EDITED_WORD = term_and_edited_word(ALPHABET, (3, 12), 2)


@settings(max_examples=1000, deadline=None)
@given(pair=TERM_AND_EDITED_WORD)
def test_every_fuzzy_match_shares_a_trigram_with_the_prefilter(pair: tuple[str, str]) -> None:
    term, word = pair
    if term_matches(term, word, fuzzy=True):
        assert trigrams(word) & trigrams(fuzzy_prefilter(term)), (term, word)


def test_short_terms_take_their_swap_variants_and_long_ones_stand_alone() -> None:
    # "act" shares no trigram with "cat" (one swap), so 3 letters need the variants; so do
    # 6 and 7 letters (two swaps can change all 8 trigrams of "abcdefg").
    assert fuzzy_prefilter("cat") == " ".join(swap_variants("cat"))
    assert not trigrams("act") & trigrams("cat")
    assert fuzzy_prefilter("abcdefg") == " ".join(swap_variants("abcdefg"))
    assert not trigrams("bacdfeg") & trigrams("abcdefg")
    for term in ("sale", "sales", "engineer", "controller"):
        assert fuzzy_prefilter(term) == term


@settings(max_examples=2000, deadline=None)
@given(pair=TERM_AND_EDITED_WORD)
def test_every_fuzzy_match_keeps_the_floor_of_shared_trigrams(pair: tuple[str, str]) -> None:
    """The word alone as pg_trgm's strict extent: c of the prefilter's N trigrams and x
    others give c / (N + x), never under the term's floor."""
    term, word = pair
    if not term_matches(term, word, fuzzy=True):
        return
    prefilter = trigrams(fuzzy_prefilter(term))
    shared = len(trigrams(word) & prefilter)
    others = len(trigrams(word) - prefilter)
    assert shared >= shared_trigram_floor(term), (term, word)
    assert shared / (len(prefilter) + others) >= strict_similarity_floor(term), (term, word)


def test_the_floor_counts_every_trigram_an_edit_can_leave() -> None:
    # "sales" (one edit, 6 trigrams, a transposition spoils 4): 2 stay.
    assert shared_trigram_floor("sales") == 2
    assert len(trigrams("slaes") & trigrams("sales")) == 2
    # "cat": a substitution spoils 3 of 4, "act" shares none with "cat" but 4 with itself.
    assert shared_trigram_floor("cat") == 1
    assert shared_trigram_floor("caté") == 1  # non-ASCII: hashed trigrams, one credited


@given(st.lists(st.text(alphabet=ALPHABET, min_size=3, max_size=40), min_size=1, max_size=4))
def test_the_strict_threshold_is_under_every_terms_floor(terms: list[str]) -> None:
    threshold = strict_similarity_threshold(terms)
    assert threshold is not None
    for term in terms:
        assert 0 < threshold < strict_similarity_floor(term)
        # The GIN's bound: the shared trigrams over N, which the floor's count passes.
        assert threshold * len(trigrams(fuzzy_prefilter(term))) <= shared_trigram_floor(term)


def test_only_terms_keeping_two_trigrams_take_the_strict_prefilter() -> None:
    assert takes_strict_prefilter("sales")  # 2 of 6 trigrams stay
    assert takes_strict_prefilter("tilspin")  # 2, with its swap variants
    assert not takes_strict_prefilter("cat")  # a substitution leaves 1 of 4
    assert not takes_strict_prefilter("engineer")  # two swaps leave 1 of 9


@given(st.lists(st.text(alphabet=ALPHABET, min_size=3, max_size=40), min_size=1, max_size=4))
def test_the_threshold_means_one_shared_trigram_for_every_prefilter(terms: list[str]) -> None:
    prefilters = [fuzzy_prefilter(term) for term in terms]
    threshold = fuzzy_similarity_threshold(prefilters)
    assert threshold is not None
    for prefilter in prefilters:
        distinct = len(trigrams(prefilter))
        assert distinct <= trigram_count_bound(prefilter)
        assert 0 < threshold * distinct < 1  # one shared trigram of `distinct` passes
