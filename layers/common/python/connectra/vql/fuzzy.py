"""Fuzzy term matching with OpenSearch's `AUTO` edit distance, transpositions included.

The cost bound of fuzzy search: OpenSearch expands each fuzzy term to at most
`max_expansions` indexed words and Lucene refuses a query of more than 1,024 clauses in
total (`too_many_nested_clauses`, `indices.query.bool.max_clause_count`). A query holds at
most `MAX_FUZZY_TERMS` fuzzy terms (the VQL cost budget's `fuzzy_terms` limit, which
refuses a query beyond it with 400 `query_over_budget`, is at most this), and the terms share
`FUZZY_EXPANSION_BUDGET` expansions (`expansions_per_term`), which leaves the rest of the
1,024 to the query's other clauses. Beyond its share a term's farthest variants are dropped
on OpenSearch (the PostgreSQL engine has no such cut): docs/opensearch.md.
"""

from __future__ import annotations

FUZZY_EXPANSION_BUDGET = 800  # words all fuzzy terms of one query may expand to
MAX_FUZZY_TERMS = 16  # fuzzy terms in one query: each gets at least 50 expansions
# (a ceiling: connectra.vql.budget enforces its own, lower fuzzy_terms limit)


def expansions_per_term(fuzzy_terms: int) -> int:
    """The `max_expansions` of each fuzzy term of a query holding `fuzzy_terms` of them."""
    return FUZZY_EXPANSION_BUDGET // max(1, fuzzy_terms)


def max_edits(term: str) -> int:
    """AUTO: 0 edits for 1-2 characters, 1 for 3-5, 2 for longer terms."""
    length = len(term)
    if length <= 2:
        return 0
    if length <= 5:
        return 1
    return 2


def edit_distance(left: str, right: str) -> int:
    """Insertions, deletions, substitutions and transpositions of adjacent characters, each
    one edit, no substring edited twice: the optimal string alignment distance, Lucene's
    with `fuzzy_transpositions: true` ("slaes" is one edit from "sales")."""
    rows = [list(range(len(right) + 1))]
    for i in range(1, len(left) + 1):
        row = [i] + [0] * len(right)
        for j in range(1, len(right) + 1):
            row[j] = min(
                rows[i - 1][j] + 1,
                row[j - 1] + 1,
                rows[i - 1][j - 1] + (left[i - 1] != right[j - 1]),
            )
            if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


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
    return abs(len(term) - len(word)) <= edits and edit_distance(term, word) <= edits
