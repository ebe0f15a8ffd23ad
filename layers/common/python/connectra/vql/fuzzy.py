"""Fuzzy term matching with OpenSearch's `AUTO` edit distance."""

from __future__ import annotations


def max_edits(term: str) -> int:
    """AUTO: 0 edits for 1-2 characters, 1 for 3-5, 2 for longer terms."""
    length = len(term)
    if length <= 2:
        return 0
    if length <= 5:
        return 1
    return 2


def levenshtein(left: str, right: str) -> int:
    """Insertions, deletions and substitutions (fuzzystrmatch's `levenshtein`)."""
    if len(left) < len(right):
        left, right = right, left
    previous = list(range(len(right) + 1))
    for row, left_char in enumerate(left, start=1):
        current = [row]
        for column, right_char in enumerate(right, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (left_char != right_char),
                )
            )
        previous = current
    return previous[-1]


def term_matches(term: str, word: str, *, fuzzy: bool) -> bool:
    if not fuzzy:
        return term == word
    edits = max_edits(term)
    return abs(len(term) - len(word)) <= edits and levenshtein(term, word) <= edits
