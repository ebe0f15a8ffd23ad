"""The VQL AST compiled to an OpenSearch query body (pure functions, no I/O).

The meaning is `connectra.vql.ast`'s; the index it runs on is `connectra.search.index_model`
(field paths come from there). How each part keeps the AST's meaning:

* Filter: a `bool` whose `filter` holds one clause per `AnyOf` group (a group of several
  conditions is a `bool.should` with `minimum_should_match: 1`) and whose `must_not` holds
  every excluded condition. Filter context: no scoring, the order is the explicit sort.
  A document without a value has no term to match, so a condition on NULL never matches
  and `must_not` keeps the row, as the AST says. No condition at all: `match_all`.
* EXACT, slop 0 (or one word): `match_phrase` on the folded words field. With slop > 0:
  `span_near` of `span_term`s, `in_order: true`. `match_phrase` with slop would also
  accept reordered words (Lucene's sloppy phrase counts a swap as two moves), which the
  AST forbids; ordered span_near's slop is the total of words between the terms, the
  AST's definition. The terms are the AST's (already folded words), so span_term needs no
  analysis.
* SHUFFLE: `match` with the words joined, `operator` and/or; fuzzy adds
  `fuzziness: AUTO` (0/1/2 edits for 1-2/3-5/longer terms), `fuzzy_transpositions:
  true` (a swap of adjacent characters is one edit, as the AST says) and
  `prefix_length: 0`. `max_expansions` bounds the words one fuzzy term may expand to
  (`connectra.vql.fuzzy.expansions_per_term`: the query's fuzzy terms share a budget
  that keeps Lucene under its 1,024-clause limit): beyond that many distinct indexed
  words within the edit distance the farthest are dropped — the one place where a huge
  vocabulary could make OpenSearch return less than the AST allows. Not fuzzy: no
  fuzziness at all (plain term matching).
* SUBSTRING: one clause per whitespace-separated term, all of them (`bool.filter`,
  operator and) or any (`bool.should`, or); each term is an exact "contains" on the
  folded value, across words:
  - shorter than 3 characters: `term` on `<f>__starts` (the word-start prefixes the
    document builder computes: the AST's word-prefix rule, exactly);
  - 3 to 10 characters: `term` on `<f>__text.ngram` (every 3-10 gram of the whole folded
    value, spaces and punctuation included, is indexed: present iff contained);
  - longer than 10: `wildcard` `*…*` on `<f>__text.folded` (escaped; exact). A
    `match_phrase` of n-grams is not exact: the n-gram tokenizer's positions do not
    follow character offsets near the end of a value, so it misses some matches.
* Keyword: `terms` on the lower-cased keyword (`<f>.lower`, arrays match any element).
* Range: `range` on the long field; dates are epoch microseconds (exact), and bounds of
  integer fields are made integers exactly (`gte 199.5` → `gte 200`).
* Sort: one clause per key, uuid last. NULLs sort last in both directions through an
  explicit `missing` value at the far end (`missing_value`): the sort values of such rows
  are then ordinary values, so `search_after` never carries a null (which OpenSearch
  rejects for some field types). The edge: a real value equal to that far end value
  (a long of 2**63-1, a string starting with U+10FFFF) ties with NULLs and is ordered
  among them by uuid.
* Paging: `size` = limit + 1 (one more row says whether a next page exists), `from` =
  the offset, or `search_after` with the cursor's values. `_source: false`: the hit's
  `_id` is the uuid; rows come from PostgreSQL.
* Count: `size: 0`, `track_total_hits: <bound>` (or `true` for an exact count).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from connectra.models.fields import Field, FieldKind
from connectra.vql.ast import (
    AnyOf,
    Condition,
    Direction,
    Filter,
    KeywordCondition,
    Operator,
    Query,
    RangeCondition,
    RangeValue,
    SearchType,
    SortKey,
    SortValue,
    TextCondition,
)
from connectra.vql.field_paths import (
    LONG_MAX,
    LONG_MIN,
    NGRAM_MAX,
    NGRAM_MIN,
    folded_path,
    from_micros,
    keyword_path,
    ngram_path,
    range_path,
    sort_path,
    starts_path,
    to_micros,
    words_path,
)
from connectra.vql.fuzzy import FUZZY_EXPANSION_BUDGET, expansions_per_term

Body = dict[str, Any]

STRING_MAX = "\U0010ffff"  # sorts after every real string (UTF-8 byte order)
STRING_MIN = ""


# -- filter ----------------------------------------------------------------------------------


def compile_filter(query_filter: Filter) -> Body:
    expansions = expansions_per_term(fuzzy_term_count(query_filter))
    filters = [_group(group, expansions) for group in query_filter.must]
    excluded = [compile_condition(condition, expansions) for condition in query_filter.must_not]
    if not filters and not excluded:
        return {"match_all": {}}
    clauses: Body = {}
    if filters:
        clauses["filter"] = filters
    if excluded:
        clauses["must_not"] = excluded
    return {"bool": clauses}


def fuzzy_term_count(query_filter: Filter) -> int:
    """Fuzzy terms of the whole filter (they share the expansion budget)."""
    conditions = [c for group in query_filter.must for c in group.conditions]
    conditions.extend(query_filter.must_not)
    return sum(len(c.terms) for c in conditions if isinstance(c, TextCondition) and c.fuzzy)


def _group(group: AnyOf, expansions: int) -> Body:
    if len(group.conditions) == 1:
        return compile_condition(group.conditions[0], expansions)
    return {
        "bool": {
            "should": [compile_condition(condition, expansions) for condition in group.conditions],
            "minimum_should_match": 1,
        }
    }


def compile_condition(condition: Condition, expansions: int = FUZZY_EXPANSION_BUDGET) -> Body:
    if isinstance(condition, TextCondition):
        return compile_text(condition, expansions)
    if isinstance(condition, KeywordCondition):
        return {"terms": {keyword_path(condition.field): list(condition.values)}}
    return compile_range(condition)


def compile_text(condition: TextCondition, expansions: int = FUZZY_EXPANSION_BUDGET) -> Body:
    field = condition.field
    if condition.search_type is SearchType.EXACT:
        if condition.slop == 0 or len(condition.terms) == 1:
            return {"match_phrase": {words_path(field): {"query": " ".join(condition.terms)}}}
        return {
            "span_near": {
                "clauses": [{"span_term": {words_path(field): term}} for term in condition.terms],
                "slop": condition.slop,
                "in_order": True,
            }
        }
    if condition.search_type is SearchType.SHUFFLE:
        match: Body = {
            "query": " ".join(condition.terms),
            "operator": condition.operator.value,
        }
        if condition.fuzzy:
            match.update(
                fuzziness="AUTO",
                fuzzy_transpositions=True,
                prefix_length=0,
                max_expansions=expansions,
            )
        return {"match": {words_path(field): match}}
    clauses = [compile_substring(field, term) for term in condition.terms]
    if len(clauses) == 1:
        return clauses[0]
    if condition.operator is Operator.AND:
        return {"bool": {"filter": clauses}}
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def compile_substring(field: Field, folded: str) -> Body:
    length = len(folded)
    if length < NGRAM_MIN:
        return {"term": {starts_path(field): folded}}
    if length <= NGRAM_MAX:
        return {"term": {ngram_path(field): folded}}
    return {"wildcard": {folded_path(field): {"value": f"*{escape_wildcard(folded)}*"}}}


def escape_wildcard(text: str) -> str:
    """`*`, `?` and `\\` are the wildcard query's only special characters."""
    return "".join("\\" + char if char in "*?\\" else char for char in text)


def compile_range(condition: RangeCondition) -> Body:
    bounds: Body = {}
    for name in ("gte", "gt", "lte", "lt"):
        value: RangeValue | None = getattr(condition, name)
        if value is None:
            continue
        bound = _long_bound(name, value)
        if bound is _NEVER:
            return {"match_none": {}}
        if bound is not _ALWAYS:
            bounds[name] = bound
    if not bounds:  # every bound is past the end of the long range: any value matches
        return {"exists": {"field": range_path(condition.field)}}
    return {"range": {range_path(condition.field): bounds}}


_NEVER = object()
_ALWAYS = object()


def _long_bound(name: str, value: RangeValue) -> object:
    """An integer bound equivalent to `name value` on a long field (or never/always)."""
    if isinstance(value, datetime):
        number: int = to_micros(value)
    elif isinstance(value, float):
        # x >= 199.5 ⟺ x >= 200; x > 199.5 ⟺ x > 199; x <= 199.5 ⟺ x <= 199; x < 199.5 ⟺ x < 200
        number = math.ceil(value) if name in ("gte", "lt") else math.floor(value)
    else:
        number = value
    lower = name in ("gte", "gt")
    if number > LONG_MAX:
        return _NEVER if lower else _ALWAYS
    if number < LONG_MIN:
        return _ALWAYS if lower else _NEVER
    return number


# -- sort and paging ----------------------------------------------------------------------


def is_numeric(field: Field) -> bool:
    return field.kind in (FieldKind.NUMBER, FieldKind.DATE)


def missing_value(key: SortKey) -> int | str:
    """The stand-in of NULL that sorts after every value in the key's direction."""
    ascending = key.direction is Direction.ASC
    if is_numeric(key.field):
        return LONG_MAX if ascending else LONG_MIN
    return STRING_MAX if ascending else STRING_MIN


def compile_sort(sort: tuple[SortKey, ...]) -> list[Body]:
    clauses: list[Body] = []
    for key in sort:
        clause: Body = {"order": key.direction.value}
        if key.field.kind is not FieldKind.UUID:
            clause["missing"] = missing_value(key)
        clauses.append({sort_path(key.field): clause})
    return clauses


def to_search_after(sort: tuple[SortKey, ...], values: tuple[SortValue, ...]) -> list[Any]:
    """A cursor's sort values (the AST's: None for NULL, datetimes) as OpenSearch's."""
    converted: list[Any] = []
    for key, value in zip(sort, values, strict=True):
        if value is None:
            converted.append(missing_value(key))
        elif isinstance(value, datetime):
            converted.append(to_micros(value))
        else:
            converted.append(value)
    return converted


def from_sort_values(sort: tuple[SortKey, ...], values: list[Any]) -> tuple[SortValue, ...]:
    """A hit's `sort` array as the AST's sort values (for the next cursor)."""
    converted: list[SortValue] = []
    for key, value in zip(sort, values, strict=True):
        if key.field.kind is not FieldKind.UUID and value == missing_value(key):
            converted.append(None)
        elif key.field.kind is FieldKind.DATE:
            converted.append(from_micros(int(value)))
        elif key.field.kind is FieldKind.NUMBER:
            converted.append(int(value))
        else:
            converted.append(str(value))
    return tuple(converted)


def compile_search(query: Query) -> Body:
    """The body of one page: ids only, limit + 1 hits, sorted, paged."""
    body: Body = {
        "query": compile_filter(query.filter),
        "sort": compile_sort(query.sort),
        "size": query.limit + 1,
        "_source": False,
        "track_total_hits": False,
    }
    if query.search_after is not None:
        body["search_after"] = to_search_after(query.sort, query.search_after)
    elif query.offset:
        body["from"] = query.offset
    return body


def compile_count(query: Query, up_to: int | None = None) -> Body:
    """Hits counted exactly up to `up_to` (then `relation: gte`); None: every hit."""
    tracked: bool | int = True if up_to is None else up_to
    return {"query": compile_filter(query.filter), "size": 0, "track_total_hits": tracked}
