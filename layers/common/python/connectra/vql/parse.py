"""Request model + entity → the AST, with every field, operator and value validated.

Every problem becomes one `ValidationFailed` whose details list `{path, message, type}`
entries; `path` names the offending place, e.g. `where.text_matches.must[0].filter_key`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from connectra.errors import ValidationFailed
from connectra.models.fields import (
    COMPANY_FIELDS,
    FIELDS_BY_ENTITY,
    TABLE_COLUMNS,
    Entity,
    Field,
    FieldKind,
)
from connectra.vql import budget as cost
from connectra.vql import models
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
    TextCondition,
)
from connectra.vql.cursor import decode_cursor
from connectra.vql.text import fold, lower, substring_terms, words

Problem = dict[str, str]


def error_path(location: tuple[int | str, ...] | list[Any]) -> str:
    """`("where", "must", 0, "filter_key")` → `where.must[0].filter_key`."""
    path = ""
    for item in location:
        path += f"[{item}]" if isinstance(item, int) else (f".{item}" if path else str(item))
    return path or "body"


_NUMERIC = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def numeric_string(raw: str) -> int | float | None:
    """`"100"` → 100, `"2.5"` → 2.5: the original's range values were strings or numbers.
    None for anything else (`"ten"`, `"nan"`, `"inf"` stay errors)."""
    if not _NUMERIC.match(raw):
        return None
    text = raw.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else None


def validation_failed(problems: list[Problem]) -> ValidationFailed:
    first = problems[0]
    return ValidationFailed(f"{first['path']}: {first['message']}", problems)


def parse_request(payload: Mapping[str, Any], entity: Entity, **kwargs: Any) -> Query:
    """Validate a raw JSON body (e.g. an export job's stored VQL) and parse it."""
    try:
        request = models.VQLQuery.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(
            [
                {"path": error_path(e["loc"]), "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
        ) from None
    return parse_query(request, entity, **kwargs)


def parse_query(
    request: models.VQLQuery, entity: Entity, *, cursor_secret: str | None = None
) -> Query:
    parser = _Parser(entity)
    query_filter = parser.filter(request.where)
    sort = parser.sort(request.order_by)
    select_columns = parser.select_columns(request.select_columns)
    populate, company_columns = parser.company_config(request.company_config)
    parser.paging(request)
    if parser.problems:
        raise validation_failed(parser.problems)
    parser.budget.admit()  # refused here, before any engine runs it

    fingerprint = query_fingerprint(request, entity)
    search_after = None
    if request.search_after is not None:
        if cursor_secret is None:  # the caller's mistake, not the client's: no 4xx
            raise TypeError("parse_query: a search_after cursor needs the cursor_secret")
        search_after = decode_cursor(request.search_after, sort, fingerprint, cursor_secret)
    return Query(
        entity=entity,
        filter=query_filter,
        sort=sort,
        limit=request.limit,
        page=request.page,
        search_after=search_after,
        select_columns=select_columns,
        populate_company=populate,
        company_columns=company_columns,
        fingerprint=fingerprint,
    )


def query_fingerprint(request: models.VQLQuery, entity: Entity) -> str:
    """Identifies what a cursor may continue: the entity, the filter and the order."""
    canonical = json.dumps(
        {
            "entity": entity.value,
            "where": request.where.model_dump(mode="json"),
            "order_by": [item.model_dump(mode="json") for item in request.order_by],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class _Parser:
    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.fields = FIELDS_BY_ENTITY[entity]
        self.problems: list[Problem] = []
        self.budget = cost.Budget()

    def problem(self, path: str, message: str, kind: str = "value_error") -> None:
        self.problems.append({"path": path, "message": message, "type": kind})

    def field(self, name: str, path: str) -> Field | None:
        found = self.fields.get(name)
        if found is None:
            self.problem(path, f"unknown field {name!r} for {self.entity.value}", "unknown_field")
        return found

    # -- where -------------------------------------------------------------------------

    def filter(self, where: models.Where) -> Filter:
        """The row filter; identical conditions are merged (and charged once)."""
        must: list[AnyOf] = []
        must_not: list[Condition] = []

        by_key: dict[str, dict[Condition, None]] = {}
        for index, item in enumerate(where.text_matches.must):
            path = f"where.text_matches.must[{index}]"
            condition = self.text(item, path)
            if condition is not None and condition not in by_key.get(item.filter_key, {}):
                by_key.setdefault(item.filter_key, {})[condition] = None
                cost.charge_text(self.budget, condition, path)
        must.extend(AnyOf(tuple(group)) for group in by_key.values())
        for index, item in enumerate(where.text_matches.must_not):
            path = f"where.text_matches.must_not[{index}]"
            condition = self.text(item, path)
            if condition is not None and condition not in must_not:
                must_not.append(condition)
                cost.charge_text(self.budget, condition, path)

        for clause in ("must", "must_not"):
            found: list[Condition] = []
            for key, values in getattr(where.keyword_match, clause).items():
                path = f"where.keyword_match.{clause}.{key}"
                keyword = self.keyword(key, values, path)
                if keyword is not None:
                    found.append(keyword)
                    cost.charge_keyword(self.budget, keyword, path)
            for key, bounds in getattr(where.range_query, clause).items():
                path = f"where.range_query.{clause}.{key}"
                ranged = self.range(key, bounds, path)
                if ranged is not None:
                    found.append(ranged)
                    cost.charge_range(self.budget, path)
            if clause == "must":
                must.extend(AnyOf((condition,)) for condition in found)
            else:
                must_not.extend(found)
        return Filter(must=tuple(must), must_not=tuple(must_not))

    def text(self, item: models.TextMatch, path: str) -> TextCondition | None:
        field = self.field(item.filter_key, f"{path}.filter_key")
        if field is not None and not field.supports_text:
            self.problem(
                f"{path}.filter_key",
                f"{field.name!r} is not a text field; use keyword_match or range_query",
                "unsupported_operation",
            )
            field = None
        search_type = SearchType(item.search_type)
        text = item.text_value.strip()
        folded = fold(text)
        substring = search_type is SearchType.SUBSTRING
        terms = substring_terms(folded) if substring else words(folded)
        valid = field is not None
        if not text:
            self.problem(f"{path}.text_value", "must not be empty")
            valid = False
        elif not terms:
            reason = "nothing to search for" if substring else "no searchable words"
            self.problem(f"{path}.text_value", f"has {reason} (letters or digits)")
            valid = False
        if item.fuzzy and search_type is not SearchType.SHUFFLE:
            self.problem(f"{path}.fuzzy", "fuzzy applies to search_type 'shuffle' only")
            valid = False
        if item.operator == "or" and search_type is SearchType.EXACT:
            self.problem(
                f"{path}.operator", "operator 'or' applies to search_types 'shuffle', 'substring'"
            )
            valid = False
        if item.slop and search_type is not SearchType.EXACT:
            self.problem(f"{path}.slop", "slop applies to search_type 'exact' only")
            valid = False
        if not valid or field is None:
            return None
        if search_type is not SearchType.EXACT:
            terms = list(dict.fromkeys(terms))
        # How many fuzzy words a query may hold is the cost budget's `fuzzy_terms` limit
        # (charged once per merged condition, refused as `query_over_budget`), which stays
        # within fuzzy.MAX_FUZZY_TERMS, the bound OpenSearch's expansion share needs.
        return TextCondition(
            field=field,
            text=text,
            folded=folded,
            terms=tuple(terms),
            search_type=search_type,
            operator=Operator(item.operator),
            fuzzy=item.fuzzy,
            slop=item.slop,
        )

    def keyword(self, key: str, values: list[str], path: str) -> KeywordCondition | None:
        field = self.field(key, path)
        if field is None:
            return None
        if not field.supports_keyword:
            self.problem(
                path,
                f"{key!r} is a {field.kind.value} field; use range_query",
                "unsupported_operation",
            )
            return None
        if field.kind is FieldKind.UUID:
            canonical: list[str] = []
            for index, value in enumerate(values):
                try:
                    canonical.append(str(uuid.UUID(value)))
                except ValueError:
                    self.problem(f"{path}[{index}]", "not a valid uuid")
            if len(canonical) != len(values):
                return None
            return KeywordCondition(field, tuple(dict.fromkeys(canonical)))
        return KeywordCondition(field, tuple(dict.fromkeys(lower(value) for value in values)))

    def range(self, key: str, bounds: models.RangeBounds, path: str) -> RangeCondition | None:
        field = self.field(key, path)
        if field is None:
            return None
        if not field.supports_range:
            self.problem(
                path,
                f"{key!r} is a {field.kind.value} field; range_query needs a number or date",
                "unsupported_operation",
            )
            return None
        parsed: dict[str, RangeValue] = {}
        for name in ("gte", "gt", "lte", "lt"):
            raw = getattr(bounds, name)
            if raw is None:
                continue
            value = self.bound(field, raw, f"{path}.{name}")
            if value is not None:
                parsed[name] = value
        if not any(getattr(bounds, name) is not None for name in ("gte", "gt", "lte", "lt")):
            self.problem(path, "give at least one of gte, gt, lte, lt")
            return None
        if len(parsed) != sum(getattr(bounds, n) is not None for n in ("gte", "gt", "lte", "lt")):
            return None
        return RangeCondition(field, **parsed)

    def bound(self, field: Field, raw: int | float | str, path: str) -> RangeValue | None:
        if field.kind is FieldKind.NUMBER:
            number = numeric_string(raw) if isinstance(raw, str) else raw
            if number is None:
                self.problem(path, "expected a number")
            return number
        moment = utc_moment(raw)
        if moment is None:
            self.problem(path, "expected an ISO 8601 date or datetime string")
        return moment

    # -- order, paging, projection -------------------------------------------------------

    def sort(self, order_by: list[models.OrderBy]) -> tuple[SortKey, ...]:
        keys: list[SortKey] = []
        for index, item in enumerate(order_by):
            path = f"order_by[{index}].order_by"
            field = self.field(item.order_by, path)
            if field is None:
                continue
            if not field.sortable:
                self.problem(path, f"{field.name!r} is not sortable", "unsupported_operation")
                continue
            if any(key.field.name == field.name for key in keys):
                continue  # a repeated key cannot change the order
            keys.append(SortKey(field, Direction(item.order_direction)))
            if field.name == "uuid":
                break  # uuid is unique: later keys cannot change the order
        if not keys or keys[-1].field.name != "uuid":
            direction = keys[-1].direction if keys else Direction.ASC
            keys.append(SortKey(self.fields["uuid"], direction))
        return tuple(keys)

    def paging(self, request: models.VQLQuery) -> None:
        if request.search_after is not None and request.page != 1:
            self.problem("page", "page must be 1 (or omitted) with search_after")
        else:
            cost.charge_page(self.budget, request.page, request.limit)

    def select_columns(self, columns: list[str] | None) -> tuple[str, ...]:
        return ("uuid", *self.columns(columns, TABLE_COLUMNS[self.entity], "select_columns"))

    def company_config(self, config: models.CompanyConfig | None) -> tuple[bool, tuple[str, ...]]:
        if config is None:
            return False, ()
        if self.entity is not Entity.CONTACTS:
            if config.populate or config.select_columns is not None:
                self.problem("company_config", "only contacts have a company to populate")
            return False, ()
        if not config.populate:
            return False, ()
        columns = self.columns(
            config.select_columns, tuple(COMPANY_FIELDS), "company_config.select_columns"
        )
        return True, ("uuid", *columns)

    def columns(
        self, requested: list[str] | None, allowed: tuple[str, ...], path: str
    ) -> tuple[str, ...]:
        if requested is None:
            return tuple(name for name in allowed if name != "uuid")
        chosen: list[str] = []
        for index, name in enumerate(requested):
            if name not in allowed:
                self.problem(f"{path}[{index}]", f"unknown column {name!r}", "unknown_field")
            elif name != "uuid" and name not in chosen:
                chosen.append(name)
        return tuple(chosen)


def utc_moment(raw: object) -> datetime | None:
    """An ISO 8601 date or datetime string as an aware datetime (UTC when it names no
    zone); None when `raw` is not one. Range bounds of VQL and of aggregations."""
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
