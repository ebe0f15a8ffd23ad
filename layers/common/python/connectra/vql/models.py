"""The VQL request body, as pydantic v2 models.

Shapes only: wrong types are rejected here, and unknown keys too (extra="forbid") once
`VQLQuery` has dropped, with a warning, those the original ignored; whether a
field exists for the entity, and whether it supports the operation, is checked by
`connectra.vql.parse` against the field catalogue.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from connectra.models.lenient import LenientInput
from connectra.vql.budget import describe_limits

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MAX_TEXT_LENGTH = 200
MAX_KEYWORD_VALUES = 1000
MAX_CONDITIONS = 50

SearchTypeName = Literal["exact", "shuffle", "substring"]
OperatorName = Literal["and", "or"]
DirectionName = Literal["asc", "desc"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _keyword_values(value: Any) -> list[str]:
    """A keyword value is one string or a non-empty list of strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a string or a non-empty list of strings")
    if len(items) > MAX_KEYWORD_VALUES:
        raise ValueError(f"at most {MAX_KEYWORD_VALUES} values")
    for item in items:
        if not isinstance(item, str):
            raise ValueError("expected a string or a non-empty list of strings")
        if not item.strip():
            raise ValueError("values must not be empty")
        if len(item) > 500:
            raise ValueError("values are at most 500 characters")
        if "\x00" in item:
            raise ValueError("values must not contain NUL characters")
    return [item.strip() for item in items]


def _range_bound(value: Any) -> int | float | str:
    """A number (number fields) or an ISO date/datetime string (date fields)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a number or an ISO date string")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("expected a finite number")
    if isinstance(value, str) and not value.strip():
        raise ValueError("expected a number or an ISO date string")
    return value


KeywordValue = Annotated[
    list[str], PlainValidator(_keyword_values, json_schema_input_type=str | list[str])
]
RangeBound = Annotated[
    int | float | str,
    PlainValidator(_range_bound, json_schema_input_type=int | float | str),
]


class TextMatch(_Strict):
    """One text condition on a `text` field."""

    filter_key: str = Field(max_length=100, examples=["title"])
    text_value: str = Field(
        max_length=MAX_TEXT_LENGTH, pattern=r"^[^\x00]*$", examples=["software engineer"]
    )
    search_type: SearchTypeName = "shuffle"
    # Strict, as the original's decoder: `"fuzzy": "yes"` and `"slop": "2"` are 400s (D13).
    fuzzy: bool = Field(default=False, strict=True)
    operator: OperatorName = "and"
    slop: int = Field(default=0, ge=0, le=10, strict=True)


class TextMatches(_Strict):
    must: list[TextMatch] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    must_not: list[TextMatch] = Field(default_factory=list, max_length=MAX_CONDITIONS)


class KeywordMatches(_Strict):
    must: dict[str, KeywordValue] = Field(default_factory=dict, max_length=MAX_CONDITIONS)
    must_not: dict[str, KeywordValue] = Field(default_factory=dict, max_length=MAX_CONDITIONS)


class RangeBounds(_Strict):
    gte: RangeBound | None = None
    gt: RangeBound | None = None
    lte: RangeBound | None = None
    lt: RangeBound | None = None


class RangeQueries(_Strict):
    must: dict[str, RangeBounds] = Field(default_factory=dict, max_length=MAX_CONDITIONS)
    must_not: dict[str, RangeBounds] = Field(default_factory=dict, max_length=MAX_CONDITIONS)


class Where(_Strict):
    text_matches: TextMatches = Field(default_factory=TextMatches)
    keyword_match: KeywordMatches = Field(default_factory=KeywordMatches)
    range_query: RangeQueries = Field(default_factory=RangeQueries)


class OrderBy(_Strict):
    order_by: str = Field(max_length=100, examples=["created_at"])
    order_direction: DirectionName = "asc"


class CompanyConfig(_Strict):
    populate: bool = Field(default=False, strict=True)
    select_columns: list[str] | None = Field(default=None, max_length=100)


class VQLQuery(LenientInput, _Strict):
    """`POST /contacts/`, `/companies/` and their `/count`: what to find and how to page.

    Lenient as the original was (unknown keys, nulls, limit/page 0: see models.lenient)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": (
                "What to find and how to page. Every query is admitted or refused before "
                "it runs by the query budget; a request over it is a 400 "
                "`query_over_budget` whose `details` name each part over its limit "
                "(`part`, `limit`, `requested`, `path`). Identical conditions are merged "
                "first and count once. A query that still runs out of time is a 503 with "
                "`Retry-After`.\n\n" + describe_limits()
            ),
            "examples": [
                {
                    "where": {
                        "text_matches": {
                            "must": [
                                {
                                    "filter_key": "title",
                                    "text_value": "software engineer",
                                    "search_type": "shuffle",
                                    "fuzzy": True,
                                }
                            ]
                        },
                        "keyword_match": {"must": {"seniority": ["senior", "lead"]}},
                        "range_query": {"must": {"created_at": {"gte": "2024-01-01"}}},
                    },
                    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
                    "limit": 25,
                    "select_columns": ["first_name", "last_name", "email", "title"],
                    "company_config": {"populate": True, "select_columns": ["name", "website"]},
                }
            ],
        },
    )

    where: Where = Field(default_factory=Where)
    order_by: list[OrderBy] = Field(default_factory=list, max_length=5)
    page: int = Field(default=1, ge=1, strict=True)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, strict=True)
    search_after: str | None = Field(default=None, max_length=4096)
    select_columns: list[str] | None = Field(default=None, max_length=100)
    company_config: CompanyConfig | None = None
    exact_count: bool = Field(
        default=False,
        description=(
            "Count endpoints only: count every match. By default a count is exact up to "
            "1,000 matches (COUNT_EXACT_UP_TO) and beyond that answers that bound with "
            "relation `gte`."
        ),
    )
