"""Aggregations → parameterized PostgreSQL over the VQL filter (`connectra.vql.sql`'s
where builder: the same conditions, aliases `c` and `co`, and bound values).

Two kinds of statement, so that the matching rows are read as few times as possible:

* `compile_grouped`: ONE scan of the matching rows for the total, every range and date
  histogram, and every terms aggregation on a single-valued field: `GROUP BY GROUPING
  SETS ((), (k0), (k2), …)`, range buckets as `count(*) FILTER (WHERE …)` on the `()`
  row, and a window `row_number()` that keeps only each terms set's `size` best keys
  (the database never ships a million distinct titles back). Terms group the raw values
  and normalize each distinct value once, summing the groups that normalize alike:
  normalizing every row costs more than the grouping itself.
* `compile_array_terms`: one statement per terms aggregation on an array field. Each
  record's distinct keys (a LATERAL over `unnest`) are counted; the records with a key
  outside the best `size` are counted distinctly (`other_count`).

Keys are normalized in SQL as `connectra.vql.aggregation.normalize_key` does
(`lower(btrim(value, <ASCII whitespace>))`, '' is no key) and ordered `COLLATE "C"`
(code points); histogram buckets are `date_trunc` in UTC (ISO weeks start Monday).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from connectra.models.fields import Entity, Field, FieldKind, company_field_of
from connectra.vql.aggregation import (
    KEY_WHITESPACE,
    AggregateQuery,
    Aggregation,
    DateHistogramAggregation,
    RangeAggregation,
    RangeBucket,
    TermsAggregation,
)
from connectra.vql.ast import Query

# The where builder of the search compiler: one definition of the row filter.
from connectra.vql.sql import CompiledSQL, Params, column
from connectra.vql.sql import _Compiler as WhereCompiler

# A scan of many rows: JIT compilation costs more than it saves at these sizes.
AGGREGATE_SETTINGS = {"jit": "off"}


@dataclass(frozen=True)
class GroupingLayout:
    """Which output column holds which aggregation's key, and the GROUPING() bit of each."""

    key_columns: dict[str, str]  # aggregation name → key column (terms and histograms)
    range_columns: dict[str, list[str]]  # aggregation name → one count column per range
    grouping_values: dict[str, int]  # aggregation name → its grouping set's GROUPING() value
    total_grouping: int  # GROUPING() of the () row


def _as_search_query(query: AggregateQuery) -> Query:
    return Query(entity=query.entity, filter=query.filter, sort=(), limit=1)


def needs_company(query: AggregateQuery) -> bool:
    if query.entity is not Entity.CONTACTS:
        return False
    fields = [*query.filter.fields, *(item.field for item in query.aggregations)]
    return any(company_field_of(field.name) is not None for field in fields)


def _source(query: AggregateQuery) -> sql.Composable:
    table = sql.SQL("{} AS c").format(sql.Identifier(query.entity.value))
    if not needs_company(query):
        return table
    return sql.SQL(
        "{} LEFT JOIN companies AS co ON co.uuid = c.company_id AND co.deleted_at IS NULL"
    ).format(table)


def normalized_key(target: sql.Composable, field: Field) -> sql.Composable:
    if field.kind is FieldKind.UUID:
        return sql.SQL("lower({}::text)").format(target)
    return sql.SQL("NULLIF(lower(btrim({}, {})), '')").format(target, sql.Literal(KEY_WHITESPACE))


def _is_grouped_terms(item: Aggregation) -> bool:
    return isinstance(item, TermsAggregation) and not item.field.is_array


def array_terms(query: AggregateQuery) -> list[TermsAggregation]:
    return [
        item
        for item in query.aggregations
        if isinstance(item, TermsAggregation) and item.field.is_array
    ]


@dataclass
class _Columns:
    """The per-row values the grouped scan reads, and its aggregate expressions."""

    selected: list[sql.Composable] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    ranges: dict[str, list[str]] = field(default_factory=dict)
    counts: list[sql.Composable] = field(default_factory=lambda: [sql.SQL("count(*) AS n")])
    normalized: dict[str, Field] = field(default_factory=dict)  # terms key column → field


def _columns(query: AggregateQuery, params: Params) -> _Columns:
    found = _Columns()
    for index, item in enumerate(query.aggregations):
        target = column(query.entity, item.field)
        if isinstance(item, TermsAggregation) and not item.field.is_array:
            found.keys[item.name] = f"k{index}"
            found.normalized[f"k{index}"] = item.field
            value = target  # normalized after the grouping (`_normalized_groups`)
        elif isinstance(item, DateHistogramAggregation):
            found.keys[item.name] = f"k{index}"
            value = sql.SQL("date_trunc({}, {} AT TIME ZONE 'UTC')").format(
                sql.Literal(item.interval.value), target
            )
        elif isinstance(item, RangeAggregation):
            found.ranges[item.name] = []
            for position, bucket in enumerate(item.ranges):
                name = f"r{index}_{position}"
                found.ranges[item.name].append(name)
                found.counts.append(
                    sql.SQL("count(*) FILTER (WHERE {}) AS {}").format(
                        _in_range(sql.Identifier(f"v{index}"), bucket, params),
                        sql.Identifier(name),
                    )
                )
            found.selected.append(sql.SQL("{} AS {}").format(target, sql.Identifier(f"v{index}")))
            continue
        else:
            continue  # array terms: their own statement
        found.selected.append(sql.SQL("{} AS {}").format(value, sql.Identifier(f"k{index}")))
    return found


def _in_range(value: sql.Composable, bucket: RangeBucket, params: Params) -> sql.Composable:
    bounds = [sql.SQL("{} IS NOT NULL").format(value)]
    if bucket.gte is not None:
        bounds.append(sql.SQL("{} >= {}").format(value, params.add(bucket.gte)))
    if bucket.lt is not None:
        bounds.append(sql.SQL("{} < {}").format(value, params.add(bucket.lt)))
    return sql.SQL(" AND ").join(bounds)


def compile_grouped(query: AggregateQuery) -> tuple[CompiledSQL, GroupingLayout]:
    compiler = WhereCompiler(_as_search_query(query))
    where = compiler.where(paged=False)
    found = _columns(query, compiler.params)
    matched = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(found.selected) if found.selected else sql.SQL("1 AS one"),
        _source(query),
        where,
    )
    statement: sql.Composable
    if not found.keys:
        statement = sql.SQL("SELECT 0 AS grouping_set, {} FROM ({}) AS matched").format(
            sql.SQL(", ").join(found.counts), matched
        )
        layout = GroupingLayout({}, found.ranges, {}, 0)
    else:
        statement, grouping = _grouped_statement(query, found, matched)
        layout = GroupingLayout(found.keys, found.ranges, grouping, (1 << len(found.keys)) - 1)
    return CompiledSQL(statement, compiler.params.values, _settings(compiler)), layout


def _normalized_groups(found: _Columns, grouped: sql.Composable) -> sql.Composable:
    """The raw groups with each terms key normalized, re-summed where keys now coincide
    (' VP' and 'vp' are one key; a key that normalizes to nothing joins the missing)."""
    key_names = list(found.keys.values())
    outputs = [
        normalized_key(sql.Identifier(name), found.normalized[name])
        if name in found.normalized
        else sql.Identifier(name)
        for name in key_names
    ]
    sums = ["n", *(name for names in found.ranges.values() for name in names)]
    return sql.SQL(
        "SELECT grouping_set, {keys}, {sums} FROM ({grouped}) AS raw_groups "
        "GROUP BY grouping_set, {positions}"
    ).format(
        keys=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(output, sql.Identifier(name))
            for output, name in zip(outputs, key_names, strict=True)
        ),
        sums=sql.SQL(", ").join(
            sql.SQL("sum({0})::bigint AS {0}").format(sql.Identifier(name)) for name in sums
        ),
        grouped=grouped,
        positions=sql.SQL(", ").join(
            sql.Literal(position) for position in range(2, len(key_names) + 2)
        ),
    )


def _grouped_statement(
    query: AggregateQuery, found: _Columns, matched: sql.Composable
) -> tuple[sql.Composed, dict[str, int]]:
    keys, counts = found.keys, found.counts
    key_names = list(keys.values())
    width = len(key_names)
    # GROUPING(k0, k1, …): bit (width - 1 - i) is set when k_i is NOT a grouping column.
    grouping = {
        name: ((1 << width) - 1) ^ (1 << (width - 1 - key_names.index(key)))
        for name, key in keys.items()
    }
    identifiers = [sql.Identifier(name) for name in key_names]
    terms = [item for item in query.aggregations if _is_grouped_terms(item)]
    terms_key = (
        sql.SQL("coalesce({})").format(
            sql.SQL(", ").join(sql.Identifier(keys[item.name]) for item in terms)
        )
        if terms
        else sql.SQL("NULL::text")
    )
    sizes = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(
            sql.Literal(grouping[item.name]),
            sql.Literal(item.size if isinstance(item, TermsAggregation) else 0),
        )
        for item in terms
    )
    size_case = sql.SQL("CASE grouping_set {} ELSE 0 END").format(sizes) if terms else sql.SQL("0")
    raw_groups = sql.SQL(
        "SELECT GROUPING({keys}) AS grouping_set, {keys}, {counts} "
        "FROM ({matched}) AS matched GROUP BY GROUPING SETS ((), {sets})"
    ).format(
        keys=sql.SQL(", ").join(identifiers),
        counts=sql.SQL(", ").join(counts),
        matched=matched,
        sets=sql.SQL(", ").join(sql.SQL("({})").format(identifier) for identifier in identifiers),
    )
    statement = sql.SQL(
        "SELECT * FROM ("
        "SELECT groups.*, "
        "row_number() OVER (PARTITION BY grouping_set "
        'ORDER BY {terms_key} IS NULL, n DESC, {terms_key} COLLATE "C") AS rank, '
        "sum(n) FILTER (WHERE {terms_key} IS NOT NULL) "
        "OVER (PARTITION BY grouping_set) AS with_value "
        "FROM ({groups}) AS groups"
        ") AS ranked WHERE {terms_key} IS NULL OR rank <= {size_case}"
    ).format(
        terms_key=terms_key,
        groups=_normalized_groups(found, raw_groups),
        size_case=size_case,
    )
    return statement, grouping


def compile_array_terms(query: AggregateQuery, item: TermsAggregation) -> CompiledSQL:
    """Rows (kind, key, n): `bucket` rows (the best keys), `with_value`, `outside`."""
    compiler = WhereCompiler(_as_search_query(query))
    where = compiler.where(paged=False)
    element = sql.Identifier("element")
    statement = sql.SQL(
        "WITH record_keys AS MATERIALIZED ("
        "SELECT c.uuid AS record, k.key FROM {source} CROSS JOIN LATERAL ("
        "SELECT DISTINCT {key} AS key FROM unnest({target}) AS {element} "
        "WHERE {key} IS NOT NULL) AS k WHERE {where}"
        "), counted AS (SELECT key, count(*) AS n FROM record_keys GROUP BY key), "
        'best AS (SELECT key, n FROM counted ORDER BY n DESC, key COLLATE "C" LIMIT {size}) '
        "SELECT 'bucket' AS kind, key, n FROM best "
        "UNION ALL SELECT 'with_value', NULL, count(DISTINCT record) FROM record_keys "
        "UNION ALL SELECT 'outside', NULL, count(DISTINCT record) FROM record_keys "
        "WHERE key NOT IN (SELECT key FROM best)"
    ).format(
        source=_source(query),
        key=normalized_key(element, item.field),
        target=column(query.entity, item.field),
        element=element,
        where=where,
        size=compiler.params.add(item.size),
    )
    return CompiledSQL(statement, compiler.params.values, _settings(compiler))


def _settings(compiler: WhereCompiler) -> dict[str, str]:
    return {**compiler.settings(), **AGGREGATE_SETTINGS}
