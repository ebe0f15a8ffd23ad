"""Hypothesis helpers shared by the fuzzy tests (the unit prefilter tests and the
integration property test): a word a few random edits from a term (the edits a fuzzy
match allows: insertions, deletions, substitutions and adjacent swaps, anywhere)."""

from __future__ import annotations

from hypothesis import strategies as st


def edit_once(draw: st.DrawFn, word: str, alphabet: str) -> str:
    kind = draw(st.sampled_from(["insert", "delete", "substitute", "swap"]))
    at = draw(st.integers(min_value=0, max_value=max(len(word) - 1, 0)))
    char = draw(st.sampled_from(alphabet))
    if kind == "insert":
        return word[:at] + char + word[at:]
    if kind == "delete" and len(word) > 1:
        return word[:at] + word[at + 1 :]
    if kind == "substitute":
        return word[:at] + char + word[at + 1 :]
    if kind == "swap" and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word


@st.composite
def term_and_edited_word(
    draw: st.DrawFn, alphabet: str, term_sizes: tuple[int, int], most_edits: int
) -> tuple[str, str]:
    """A term of `alphabet` letters, its length within `term_sizes`, and a word 1 to
    `most_edits` random edits from it."""
    term = draw(st.text(alphabet=alphabet, min_size=term_sizes[0], max_size=term_sizes[1]))
    word = term
    for _ in range(draw(st.integers(min_value=1, max_value=most_edits))):
        word = edit_once(draw, word, alphabet)
    return term, word
