"""The fuzzy trigram prefilter loses no match (vql/fuzzy_sql.py `fuzzy_prefilter`, the bound
`fuzzy_similarity_threshold` relies on): every word within AUTO edits of a term shares a
trigram with the prefilter text, as pg_trgm extracts trigrams (each word padded to
"  word ")."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectra.vql.fuzzy import term_matches
from connectra.vql.fuzzy_sql import (
    fuzzy_prefilter,
    fuzzy_similarity_threshold,
    swap_variants,
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


@given(st.lists(st.text(alphabet=ALPHABET, min_size=3, max_size=40), min_size=1, max_size=4))
def test_the_threshold_means_one_shared_trigram_for_every_prefilter(terms: list[str]) -> None:
    prefilters = [fuzzy_prefilter(term) for term in terms]
    threshold = fuzzy_similarity_threshold(prefilters)
    assert threshold is not None
    for prefilter in prefilters:
        distinct = len(trigrams(prefilter))
        assert distinct <= trigram_count_bound(prefilter)
        assert 0 < threshold * distinct < 1  # one shared trigram of `distinct` passes
