"""The query cost budget: every query is admitted or refused before it runs.

Each expensive part of a request has one named limit (`LIMITS`). A parser spends from a
`Budget` as it meets each part, with the request path of the part; `Budget.admit()` then
refuses the request with a 400 `query_over_budget` naming every part over its limit, its
limit and what the request asked for. Nothing reaches the database before that.

The VQL parser charges conditions, words, fuzzy words, substrings, keyword values and page
depth (`charge_text`, `charge_keyword`, ...). Other request kinds use the same module with
their own parts: aggregations (`spend("aggregations", ...)`, `spend("aggregation_buckets",
...)`), and fuzzy expansion (`FUZZY_TERMS`, `max_fuzzy_terms()`).

Why these parts and limits (measured with `python -m bench.run --only budget` on 1M
contacts, the slowest admitted shapes must stay under 1 s at p95):
* a fuzzy word costs a trigram-index probe at a low similarity threshold plus a Levenshtein
  check of every candidate word: ~0.5 s per 25-word condition on 5,000 contacts (issue 11
  D2), so fuzzy words are the scarcest resource;
* a substring condition is a trigram-index scan whose cost grows with its matches;
* every other condition adds an index scan or a filter per row;
* keyword values and page depth grow the work linearly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from connectra.errors import ValidationFailed
from connectra.vql.ast import (
    MAX_WINDOW,
    KeywordCondition,
    SearchType,
    TextCondition,
    is_word_prefix,
)
from connectra.vql.fuzzy import MAX_FUZZY_TERMS, max_edits


@dataclass(frozen=True)
class Limit:
    name: str
    maximum: int
    description: str


CONDITIONS = "conditions"
TEXT_TERMS = "text_terms"
TERMS_PER_CONDITION = "terms_per_condition"
FUZZY_TERMS = "fuzzy_terms"
SUBSTRING_CONDITIONS = "substring_conditions"
SHORT_SUBSTRINGS = "short_substrings"
KEYWORD_VALUES = "keyword_values"
PAGE_DEPTH = "page_depth"
AGGREGATIONS = "aggregations"
AGGREGATION_BUCKETS = "aggregation_buckets"

LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit(
            CONDITIONS,
            30,
            "conditions in `where` (text, keyword and range; must and "
            "must_not), counted after identical conditions are merged",
        ),
        Limit(TEXT_TERMS, 40, "words across all text conditions"),
        Limit(TERMS_PER_CONDITION, 12, "words in one text condition"),
        Limit(
            FUZZY_TERMS,
            4,
            "fuzzy words (of 3 characters or more: shorter ones match exactly) across the query",
        ),
        Limit(SUBSTRING_CONDITIONS, 4, "`substring` text conditions"),
        Limit(
            SHORT_SUBSTRINGS,
            1,
            "`substring` conditions shorter than 3 characters (word-start matches no "
            "trigram index serves)",
        ),
        Limit(KEYWORD_VALUES, 2000, "values across all keyword conditions"),
        Limit(PAGE_DEPTH, MAX_WINDOW, "`page` × `limit` (page deeper with `search_after`)"),
        Limit(AGGREGATIONS, 5, "aggregations in one request"),
        Limit(AGGREGATION_BUCKETS, 1000, "buckets one aggregation may return (`size`)"),
    )
}


# The budget is the one place a query's fuzzy words are refused: its limit must keep each
# word's OpenSearch expansion share (fuzzy.expansions_per_term) within the fuzzy bound.
if LIMITS[FUZZY_TERMS].maximum > MAX_FUZZY_TERMS:
    raise RuntimeError(f"the fuzzy_terms limit exceeds fuzzy.MAX_FUZZY_TERMS ({MAX_FUZZY_TERMS})")


def max_fuzzy_terms() -> int:
    return LIMITS[FUZZY_TERMS].maximum


class QueryOverBudget(ValidationFailed):
    status_code = 400
    code = "query_over_budget"


class Budget:
    """What one request spends, per part; `admit()` refuses it when a part is over."""

    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        self.limits = limits or LIMITS
        self.spent: Counter[str] = Counter()
        self.first_over: dict[str, str] = {}  # part → the path that went over

    def spend(self, part: str, amount: int, path: str) -> None:
        self.spent[part] += amount
        if self.spent[part] > self.limits[part].maximum and part not in self.first_over:
            self.first_over[part] = path

    def spend_each(self, part: str, amount: int, path: str) -> None:
        """A per-item limit: the largest item counts, not the sum."""
        if amount > self.spent[part]:
            self.spent[part] = amount
        if amount > self.limits[part].maximum and part not in self.first_over:
            self.first_over[part] = path

    def problems(self) -> list[dict[str, Any]]:
        found = []
        for part, path in self.first_over.items():
            limit = self.limits[part]
            found.append(
                {
                    "path": path,
                    "message": f"over the query budget: at most {limit.maximum} "
                    f"{limit.description}; this request has {self.spent[part]}",
                    "type": "over_budget",
                    "part": part,
                    "limit": limit.maximum,
                    "requested": self.spent[part],
                }
            )
        return found

    def admit(self) -> None:
        """Raise `QueryOverBudget` naming each part over its limit; else return."""
        problems = self.problems()
        if problems:
            first = problems[0]
            raise QueryOverBudget(f"{first['path']}: {first['message']}", problems)


def charge_text(budget: Budget, condition: TextCondition, path: str) -> None:
    budget.spend(CONDITIONS, 1, path)
    words = len(condition.terms)
    budget.spend(TEXT_TERMS, words, f"{path}.text_value")
    budget.spend_each(TERMS_PER_CONDITION, words, f"{path}.text_value")
    if condition.fuzzy:
        expanded = sum(1 for term in condition.terms if max_edits(term) > 0)
        budget.spend(FUZZY_TERMS, expanded, f"{path}.text_value")
    if condition.search_type is SearchType.SUBSTRING:
        budget.spend(SUBSTRING_CONDITIONS, 1, path)
        # Each term is matched on its own; one too short for trigrams scans word starts.
        short = sum(1 for term in condition.terms if is_word_prefix(term))
        if short:
            budget.spend(SHORT_SUBSTRINGS, short, f"{path}.text_value")


def charge_keyword(budget: Budget, condition: KeywordCondition, path: str) -> None:
    budget.spend(CONDITIONS, 1, path)
    budget.spend(KEYWORD_VALUES, len(condition.values), path)


def charge_range(budget: Budget, path: str) -> None:
    budget.spend(CONDITIONS, 1, path)


def charge_page(budget: Budget, page: int, limit: int) -> None:
    budget.spend(PAGE_DEPTH, page * limit, "page")


VQL_PARTS = (
    CONDITIONS,
    TEXT_TERMS,
    TERMS_PER_CONDITION,
    FUZZY_TERMS,
    SUBSTRING_CONDITIONS,
    SHORT_SUBSTRINGS,
    KEYWORD_VALUES,
    PAGE_DEPTH,
)


def describe_limits(parts: tuple[str, ...] = VQL_PARTS) -> str:
    """The limits of `parts` as a Markdown list, for the API documentation."""
    chosen = [LIMITS[name] for name in parts]
    return "\n".join(f"* `{limit.name}` ≤ {limit.maximum}: {limit.description}" for limit in chosen)
