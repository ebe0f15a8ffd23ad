"""A text condition proved to match no row from the field's distinct values.

A text condition is a function of the field's value: the stored `vql_<field>_folded` and
`vql_<field>_words` columns are generated as connectra_fold(field) and
connectra_words(field) (migration 0004). When a field holds few distinct values (job
titles repeat across thousands of contacts) the condition can be decided once per value
instead of once per row: a skip scan of the field's sort index `(field COLLATE "C", uuid)`
lists the values (one index descent each, no heap), and when none of them matches, no row
does. A miss, which otherwise has to recheck every trigram candidate (a phrase of two
frequent words: 100k+ rows) or scan every row (a 1-2 character substring), then costs
the walk.

`no_value_matches` is that proof as a scalar subquery. The compiler ANDs its negation to
the condition where the condition finds its rows through an index (not in a probe's
window, whose rows are read anyway: a hit answered there never pays the walk).
Uncorrelated, it is an InitPlan, and at the top of a WHERE a One-Time Filter that skips
the whole scan when it is true; elsewhere (OR groups, must_not) one boolean per row. When
it is false (some value matches, or the field has more values than the bound) the
condition runs unchanged. Either way the rows matched are today's: where the proof holds
the condition is true for no row, and false differs from its NULL (a NULL field) only
where the caller reads both as "not true" (WHERE, IS NOT TRUE).

Bounded: the walk stops after DISTINCT_VALUES_BOUND + 1 values (~10 µs each at 1M rows),
then proves nothing and the condition runs as before; a field of unique values (email)
pays those ~2 ms only when its probe found too few rows.
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql

from connectra.models.fields import Entity, Field, FieldKind, company_field_of

# At most how many distinct values the walk reads (~10 µs each at 1M rows) before giving
# up. A module constant the tests shrink to exercise the fallback.
DISTINCT_VALUES_BOUND = 200

# How the condition compiled for `no_value_matches` reads one value's folded text and
# words (the lateral `v` of the walk).
VALUE_FOLDED = sql.SQL("v.folded")
VALUE_WORDS = sql.SQL("v.words")


def walks_values(entity: Entity, target: Field) -> bool:
    """True for the main entity's own sortable text fields: each has a sort index
    `(field COLLATE "C", uuid) WHERE deleted_at IS NULL` (db/search_structures.py) for the
    walk to read."""
    own = entity is Entity.COMPANIES or company_field_of(target.name) is None
    return own and target.kind is FieldKind.TEXT and target.sortable


# The walk: the smallest value, then repeatedly the smallest one above the last (an index
# descent each), until none is left or the LIMIT stops the recursion. Each value with its
# folded text and words, as the generated columns hold them: folded in the column's own
# (default) collation, not the walk's "C", under which lower() leaves non-ASCII letters
# alone (a Cyrillic title would never match).
_NO_VALUE_MATCHES = sql.SQL(
    "(WITH RECURSIVE walk(value) AS ("
    '(SELECT t.{column} COLLATE "C" FROM {table} AS t '
    "WHERE t.deleted_at IS NULL AND t.{column} IS NOT NULL "
    'ORDER BY t.{column} COLLATE "C" LIMIT 1) '
    'UNION ALL SELECT (SELECT t.{column} COLLATE "C" FROM {table} AS t '
    'WHERE t.deleted_at IS NULL AND t.{column} COLLATE "C" > w.value '
    'ORDER BY t.{column} COLLATE "C" LIMIT 1) '
    "FROM walk AS w WHERE w.value IS NOT NULL"
    ") SELECT count(*) <= {bound} AND NOT coalesce(bool_or({predicate}), false) "
    "FROM (SELECT walk.value FROM walk WHERE walk.value IS NOT NULL LIMIT {bound} + 1) AS d "
    'CROSS JOIN LATERAL (SELECT public.connectra_fold(d.value COLLATE "default") AS folded, '
    'public.connectra_words(d.value COLLATE "default") AS words) AS v)'
)


def no_value_matches(
    entity: Entity,
    target: Field,
    predicate: sql.Composable,
    add_param: Callable[[object], sql.Composable],
) -> sql.Composable:
    """True when the field has at most DISTINCT_VALUES_BOUND values and `predicate`,
    compiled on VALUE_FOLDED and VALUE_WORDS, holds for none of them: then no row matches
    the condition. `add_param` binds a value."""
    return _NO_VALUE_MATCHES.format(
        column=sql.Identifier(target.name),
        table=sql.Identifier(entity.value),
        bound=add_param(DISTINCT_VALUES_BOUND),
        predicate=predicate,
    )
