"""The body of `POST /{contacts|companies}/aggregate` and its parsing into the AST.

Shapes are checked by pydantic (unknown keys, wrong types, at most `MAX_AGGREGATIONS`);
what depends on the field catalogue and the aggregation type is checked here, and every
problem is reported with the path that names it (`aggregations[1].ranges[0].gte`), in one
400 together with the problems of `where` (parsed by `connectra.vql.parse`, so the VQL
limits apply unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectra.errors import ValidationFailed
from connectra.models.fields import FIELDS_BY_ENTITY, Entity, FieldKind
from connectra.models.fields import Field as CatalogueField
from connectra.vql import models
from connectra.vql.aggregation import (
    DEFAULT_TERMS_SIZE,
    MAX_AGGREGATIONS,
    MAX_RANGES,
    MAX_TERMS_SIZE,
    AggregateQuery,
    Aggregation,
    DateHistogramAggregation,
    Interval,
    RangeAggregation,
    RangeBucket,
    TermsAggregation,
)
from connectra.vql.ast import RangeValue
from connectra.vql.budget import QueryOverBudget
from connectra.vql.parse import Problem, error_path, parse_query, utc_moment, validation_failed

TERMS_KINDS = (FieldKind.TEXT, FieldKind.KEYWORD, FieldKind.KEYWORD_ARRAY, FieldKind.UUID)
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RangeSpec(_Strict):
    """One range bucket: `gte` inclusive, `lt` exclusive; at least one of them."""

    gte: models.RangeBound | None = None
    lt: models.RangeBound | None = None


class AggregationSpec(_Strict):
    """One aggregation. `size` is for terms, `ranges` for range, `interval` for
    date_histogram."""

    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN, examples=["by_seniority"])
    type: Literal["terms", "range", "date_histogram"]
    field: str = Field(max_length=100, examples=["seniority"])
    size: int | None = Field(default=None, ge=1, le=MAX_TERMS_SIZE)
    ranges: list[RangeSpec] | None = Field(default=None, min_length=1, max_length=MAX_RANGES)
    interval: Literal["day", "week", "month", "year"] | None = None


class AggregateRequest(_Strict):
    """`POST /contacts/aggregate`, `/companies/aggregate`: aggregations over a VQL where."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "where": {"keyword_match": {"must": {"country": "germany"}}},
                    "aggregations": [
                        {"name": "by_seniority", "type": "terms", "field": "seniority", "size": 10},
                        {
                            "name": "by_size",
                            "type": "range",
                            "field": "company_employees_count",
                            "ranges": [{"lt": 50}, {"gte": 50, "lt": 500}, {"gte": 500}],
                        },
                        {
                            "name": "by_month",
                            "type": "date_histogram",
                            "field": "created_at",
                            "interval": "month",
                        },
                    ],
                }
            ]
        },
    )

    where: models.Where = Field(default_factory=models.Where)
    aggregations: list[AggregationSpec] = Field(min_length=1, max_length=MAX_AGGREGATIONS)


def parse_aggregate_payload(payload: Mapping[str, Any], entity: Entity) -> AggregateQuery:
    """Validate a raw JSON body and parse it."""
    try:
        request = AggregateRequest.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(
            [
                {"path": error_path(e["loc"]), "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
        ) from None
    return parse_aggregate(request, entity)


def parse_aggregate(request: AggregateRequest, entity: Entity) -> AggregateQuery:
    problems: list[Problem] = []
    query_filter = None
    over_budget: QueryOverBudget | None = None
    try:
        query_filter = parse_query(models.VQLQuery(where=request.where), entity).filter
    except QueryOverBudget as exc:
        over_budget = exc  # a valid where, too expensive: refused once the rest is valid
    except ValidationFailed as exc:
        problems.extend(exc.details or [])
    parser = _AggregationParser(entity)
    aggregations = [
        parser.aggregation(spec, f"aggregations[{index}]")
        for index, spec in enumerate(request.aggregations)
    ]
    problems.extend(parser.problems)
    # As for a search (parse.parse_query): invalid parts first, then the budget.
    if problems:
        raise validation_failed(problems)
    if over_budget is not None:
        raise over_budget
    assert query_filter is not None  # parse_query returned, as nothing was raised
    return AggregateQuery(
        entity=entity,
        filter=query_filter,
        aggregations=tuple(item for item in aggregations if item is not None),
    )


class _AggregationParser:
    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.fields = FIELDS_BY_ENTITY[entity]
        self.problems: list[Problem] = []
        self.names: set[str] = set()

    def problem(self, path: str, message: str, kind: str = "value_error") -> None:
        self.problems.append({"path": path, "message": message, "type": kind})

    def aggregation(self, spec: AggregationSpec, path: str) -> Aggregation | None:
        if spec.name in self.names:
            self.problem(f"{path}.name", f"duplicate aggregation name {spec.name!r}")
        self.names.add(spec.name)
        self.inapplicable(spec, path)
        field = self.fields.get(spec.field)
        if field is None:
            self.problem(
                f"{path}.field",
                f"unknown field {spec.field!r} for {self.entity.value}",
                "unknown_field",
            )
            return None
        if spec.type == "terms":
            return self.terms(spec, field, path)
        if spec.type == "range":
            return self.range(spec, field, path)
        return self.histogram(spec, field, path)

    def inapplicable(self, spec: AggregationSpec, path: str) -> None:
        for option, owner in (
            ("size", "terms"),
            ("ranges", "range"),
            ("interval", "date_histogram"),
        ):
            if getattr(spec, option) is not None and spec.type != owner:
                self.problem(f"{path}.{option}", f"{option} applies to type {owner!r} only")

    def unsupported(self, path: str, field: CatalogueField, message: str) -> None:
        self.problem(
            f"{path}.field",
            f"{field.name!r} is a {field.kind.value} field; {message}",
            "unsupported_operation",
        )

    def terms(self, spec: AggregationSpec, field: CatalogueField, path: str) -> Aggregation | None:
        if field.kind not in TERMS_KINDS:
            self.unsupported(path, field, "terms needs a text or keyword field")
            return None
        size = DEFAULT_TERMS_SIZE if spec.size is None else spec.size
        return TermsAggregation(name=spec.name, path=path, field=field, size=size)

    def range(self, spec: AggregationSpec, field: CatalogueField, path: str) -> Aggregation | None:
        if not field.supports_range:
            self.unsupported(path, field, "range needs a number or date field")
            return None
        if spec.ranges is None:
            self.problem(f"{path}.ranges", "range needs a list of ranges", "missing")
            return None
        buckets = [
            self.range_bucket(field, item, f"{path}.ranges[{index}]")
            for index, item in enumerate(spec.ranges)
        ]
        if any(bucket is None for bucket in buckets):
            return None
        return RangeAggregation(
            name=spec.name,
            path=path,
            field=field,
            ranges=tuple(bucket for bucket in buckets if bucket is not None),
        )

    def range_bucket(self, field: CatalogueField, item: RangeSpec, path: str) -> RangeBucket | None:
        if item.gte is None and item.lt is None:
            self.problem(path, "give gte, lt or both")
            return None
        gte = None if item.gte is None else self.bound(field, item.gte, f"{path}.gte")
        lt = None if item.lt is None else self.bound(field, item.lt, f"{path}.lt")
        if (item.gte is not None and gte is None) or (item.lt is not None and lt is None):
            return None
        if gte is not None and lt is not None and not gte < lt:  # type: ignore[operator]
            self.problem(path, "gte must be less than lt")
            return None
        echo = tuple(
            (name, getattr(item, name)) for name in ("gte", "lt") if getattr(item, name) is not None
        )
        return RangeBucket(gte=gte, lt=lt, echo=echo)

    def bound(self, field: CatalogueField, raw: int | float | str, path: str) -> RangeValue | None:
        if field.kind is FieldKind.NUMBER:
            if isinstance(raw, str):
                self.problem(path, "expected a number")
                return None
            return raw
        moment = utc_moment(raw)
        if moment is None:
            self.problem(path, "expected an ISO 8601 date or datetime string")
        return moment

    def histogram(
        self, spec: AggregationSpec, field: CatalogueField, path: str
    ) -> Aggregation | None:
        if field.kind is not FieldKind.DATE:
            self.unsupported(path, field, "date_histogram needs a date field")
            return None
        if spec.interval is None:
            self.problem(f"{path}.interval", "give one of day, week, month, year", "missing")
            return None
        return DateHistogramAggregation(
            name=spec.name, path=path, field=field, interval=Interval(spec.interval)
        )
