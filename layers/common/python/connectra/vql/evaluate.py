"""A straightforward Python evaluation of a VQL query over dict rows.

The reference semantics (see `connectra.vql.ast`), written for clarity rather than speed:
the oracle the property tests compare the engines with. Rows are dicts of table columns;
contacts find their company's fields in `companies` by `company_id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import cmp_to_key
from typing import Any

from connectra.models.fields import Entity, FieldKind, company_field_of
from connectra.vql.ast import (
    Condition,
    Direction,
    KeywordCondition,
    Operator,
    Query,
    RangeCondition,
    SearchType,
    SortValue,
    TextCondition,
    is_word_prefix,
)
from connectra.vql.fuzzy import term_matches
from connectra.vql.text import contains_at_word_start, fold, lower, phrase_matches, words

Row = Mapping[str, Any]
Keyed = tuple[tuple[SortValue, ...], Row]


def field_value(query: Query, row: Row, name: str, companies: Mapping[Any, Row]) -> Any:
    company_column = company_field_of(name) if query.entity is Entity.CONTACTS else None
    if company_column is None:
        return row.get(name)
    company = companies.get(row.get("company_id"))
    if company is None or company.get("deleted_at") is not None:
        return None
    return company.get(company_column)


def text_matches(condition: TextCondition, value: Any) -> bool:
    if value is None:
        return False
    folded = fold(value)
    if condition.search_type is SearchType.SUBSTRING:
        found = (
            contains_at_word_start(folded, term) if is_word_prefix(term) else term in folded
            for term in condition.terms
        )
        return all(found) if condition.operator is Operator.AND else any(found)
    field_words = words(folded)
    if condition.search_type is SearchType.EXACT:
        return phrase_matches(field_words, condition.terms, condition.slop)
    found = (
        any(term_matches(term, word, fuzzy=condition.fuzzy) for word in field_words)
        for term in condition.terms
    )
    return all(found) if condition.operator is Operator.AND else any(found)


def keyword_matches(condition: KeywordCondition, value: Any) -> bool:
    if value is None:
        return False
    if condition.field.kind is FieldKind.UUID:
        return str(value) in condition.values
    if condition.field.is_array:
        return any(lower(item) in condition.values for item in value)
    return lower(str(value)) in condition.values


def range_matches(condition: RangeCondition, value: Any) -> bool:
    if value is None:
        return False
    return (
        (condition.gte is None or value >= condition.gte)
        and (condition.gt is None or value > condition.gt)
        and (condition.lte is None or value <= condition.lte)
        and (condition.lt is None or value < condition.lt)
    )


def condition_matches(condition: Condition, value: Any) -> bool:
    if isinstance(condition, TextCondition):
        return text_matches(condition, value)
    if isinstance(condition, KeywordCondition):
        return keyword_matches(condition, value)
    return range_matches(condition, value)


def row_matches(query: Query, row: Row, companies: Mapping[Any, Row]) -> bool:
    if row.get("deleted_at") is not None:
        return False

    def holds(condition: Condition) -> bool:
        return condition_matches(
            condition, field_value(query, row, condition.field.name, companies)
        )

    return all(any(holds(c) for c in group.conditions) for group in query.filter.must) and not any(
        holds(c) for c in query.filter.must_not
    )


def sort_values(query: Query, row: Row, companies: Mapping[Any, Row]) -> tuple[SortValue, ...]:
    values = []
    for key in query.sort:
        value = field_value(query, row, key.field.name, companies)
        values.append(str(value) if isinstance(value, uuid.UUID) else value)
    return tuple(values)


def _compare(query: Query, left: tuple[SortValue, ...], right: tuple[SortValue, ...]) -> int:
    for key, a, b in zip(query.sort, left, right, strict=True):
        if a == b:
            continue
        if a is None:
            return 1  # NULLs last, whatever the direction
        if b is None:
            return -1
        order = -1 if a < b else 1  # type: ignore[operator]
        return -order if key.direction is Direction.DESC else order
    return 0


def evaluate(
    query: Query, rows: Iterable[Row], companies: Mapping[Any, Row] | None = None
) -> list[Row]:
    """The rows of the query's page, in order (search_after or page/limit applied)."""
    companies = companies or {}
    keyed: list[Keyed] = [
        (sort_values(query, row, companies), row)
        for row in rows
        if row_matches(query, row, companies)
    ]

    def by_sort(left: Keyed, right: Keyed) -> int:
        return _compare(query, left[0], right[0])

    keyed.sort(key=cmp_to_key(by_sort))
    if query.search_after is not None:
        cursor = query.search_after
        keyed = [item for item in keyed if _compare(query, item[0], cursor) > 0]
    return [row for _values, row in keyed[query.offset : query.offset + query.limit]]


def count(query: Query, rows: Iterable[Row], companies: Mapping[Any, Row] | None = None) -> int:
    companies = companies or {}
    return sum(1 for row in rows if row_matches(query, row, companies))
