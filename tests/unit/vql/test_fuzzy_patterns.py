"""The pair patterns of long fuzzy terms lose no match (vql/fuzzy_sql.py `intact_patterns`):
the folded text of every row holding a word within AUTO edits of a term matches one of
them, whatever the edits (transpositions at a piece's edge, repeated letters, letters
outside ASCII) and whatever stands around the word."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from connectra.vql.fuzzy import term_matches
from connectra.vql.fuzzy_sql import intact_patterns, intact_pieces
from tests.edited_words import term_and_edited_word

# Few letters (repeats, pieces that occur twice), a digit and letters outside ASCII.
ALPHABET = "abé1ж"

LONG_TERM_AND_EDITED_WORD = term_and_edited_word(ALPHABET, (7, 24), 3)


def like(text: str, pattern: str) -> bool:
    """PostgreSQL's `text LIKE pattern` for patterns of `%` and letters only."""
    pieces = (re.escape(piece) for piece in pattern.split("%"))
    return re.fullmatch(".*".join(pieces), text, flags=re.DOTALL) is not None


@settings(max_examples=3000, deadline=None)
@given(
    pair=LONG_TERM_AND_EDITED_WORD,
    before=st.text(alphabet=ALPHABET + " .@", max_size=12),
    after=st.text(alphabet=ALPHABET + " .@", max_size=12),
)
def test_every_fuzzy_match_matches_a_pattern(
    pair: tuple[str, str], before: str, after: str
) -> None:
    term, word = pair
    patterns = intact_patterns(term)
    if patterns is not None and term_matches(term, word, fuzzy=True):
        folded = before + word + after
        assert any(like(folded, pattern) for pattern in patterns), (term, word, patterns)


def one_edit_away(word: str, foreign: str) -> set[str]:
    """Every word one edit from `word`, inserting or substituting only `foreign` (a
    character of no piece: no edit rebuilds one by chance)."""
    found = set()
    for at in range(len(word) + 1):
        found.add(word[:at] + foreign + word[at:])
        if at < len(word):
            found.add(word[:at] + word[at + 1 :])
            found.add(word[:at] + foreign + word[at + 1 :])
        if at + 1 < len(word):
            found.add(word[:at] + word[at + 1] + word[at] + word[at + 2 :])
    return found


@settings(max_examples=40, deadline=None)
@given(term=st.text(alphabet="ab1", min_size=11, max_size=18))
def test_every_placement_of_two_edits_leaves_a_pattern(term: str) -> None:
    """Every pair of edits, each anywhere (the random edits above rarely hit a piece's
    edge twice): all words within AUTO edits of the term built by two of them."""
    patterns = intact_patterns(term)
    assert patterns is not None
    matches = [re.compile(".*".join(map(re.escape, p.split("%"))), re.DOTALL) for p in patterns]
    words = {term} | one_edit_away(term, "z")
    for word in words | {twice for once in words for twice in one_edit_away(once, "z")}:
        if term_matches(term, word, fuzzy=True):
            assert any(match.fullmatch(word) for match in matches), (term, word, patterns)


@given(st.text(alphabet=ALPHABET, min_size=0, max_size=30))
def test_terms_have_patterns_exactly_when_they_have_pieces(term: str) -> None:
    pieces = intact_pieces(term)
    patterns = intact_patterns(term)
    assert (patterns is None) == (pieces is None)
    if patterns is not None and pieces is not None:
        # Each pattern holds a piece of the even cut: never wider than the pieces' OR.
        assert all(any(piece in pattern for piece in pieces) for pattern in patterns)


def test_a_common_run_inside_the_term_is_no_pattern_alone() -> None:
    # "pedtailspin32381" (a domain word, its second letter dropped): the even cut's middle
    # piece "lspin" lies inside the company word "tailspin" (44k of 1M bench contacts);
    # paired with the long middle piece "ailspin3" it needs the digit after it, or comes
    # with a piece of the end.
    assert intact_pieces("pedtailspin32381") == ["pedta", "lspin", "2381"]
    assert intact_patterns("pedtailspin32381") == [
        "%2381%",
        "%ailspin3%",
        "%lspin%381%",
        "%ped%lspin%",
        "%pedta%",
    ]


def test_the_shortest_terms_with_pieces_keep_them() -> None:
    # 11 letters: both cuts are the same three 3-letter pieces.
    assert intact_patterns("engineering") == ["%eng%", "%ing%", "%nee%"]
    assert intact_patterns("controller") is None  # 10 letters: three pieces need 11
