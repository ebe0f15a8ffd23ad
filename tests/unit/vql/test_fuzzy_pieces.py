"""The substring prefilter of long fuzzy terms loses no match (vql/fuzzy_sql.py
`intact_pieces`): every word within AUTO edits of a term holds one of its pieces verbatim,
whatever the edits (transpositions at a piece's edge, repeated letters, letters outside
ASCII)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectra.vql.fuzzy import max_edits, term_matches
from connectra.vql.fuzzy_sql import MIN_PIECE_LENGTH, intact_pieces
from tests.edited_words import term_and_edited_word

# Few letters (repeats, pieces that occur twice), a digit and letters outside ASCII.
ALPHABET = "abé1ж"


# A term long enough for pieces and a word 1-3 random edits from it: transpositions
# included, anywhere (at a piece's edges, on the left-out characters).
LONG_TERM_AND_EDITED_WORD = term_and_edited_word(ALPHABET, (7, 20), 3)


@settings(max_examples=3000, deadline=None)
@given(pair=LONG_TERM_AND_EDITED_WORD)
def test_every_fuzzy_match_holds_a_piece(pair: tuple[str, str]) -> None:
    term, word = pair
    pieces = intact_pieces(term)
    if pieces is not None and term_matches(term, word, fuzzy=True):
        assert any(piece in word for piece in pieces), (term, word, pieces)


def test_two_swaps_at_the_pieces_edges_leave_the_middle_piece() -> None:
    # "engineering": pieces "eng", "nee", "ing" around the left-out "i" and "r"; swapping
    # each left-out letter with its neighbour keeps only "nee" whole.
    assert intact_pieces("engineering") == ["eng", "nee", "ing"]
    word = "enigneeirng"
    assert term_matches("engineering", word, fuzzy=True)
    assert [piece in word for piece in ["eng", "nee", "ing"]] == [False, True, False]


@given(st.text(alphabet=ALPHABET, min_size=0, max_size=30))
def test_pieces_are_disjoint_substrings_of_the_term_a_left_out_character_apart(
    term: str,
) -> None:
    pieces = intact_pieces(term)
    edits = max_edits(term)
    if pieces is None:
        assert edits == 0 or len(term) - edits < MIN_PIECE_LENGTH * (edits + 1)
        return
    assert len(pieces) == edits + 1
    assert all(len(piece) >= MIN_PIECE_LENGTH for piece in pieces)
    assert "?".join(pieces) == "".join(
        "?" if index in gaps(pieces) else char for index, char in enumerate(term)
    )


def gaps(pieces: list[str]) -> set[int]:
    """Positions of the left-out characters: one after each piece but the last."""
    found, position = set(), 0
    for piece in pieces[:-1]:
        position += len(piece)
        found.add(position)
        position += 1
    return found


def test_terms_without_pieces() -> None:
    assert intact_pieces("sales") is None  # one edit: two pieces would need 7 letters
    assert intact_pieces("controller") is None  # 10 letters: three pieces need 11
    assert intact_pieces("ab\u0301cdefghijkl") is None  # a combining mark: pg_trgm cuts there
