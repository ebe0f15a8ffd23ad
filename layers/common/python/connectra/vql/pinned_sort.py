"""Pages sorted on a key the filter pins to a few values (`country` sorted, filtered on
`country: germany`): the "pinned value walk" of vql/sql.py.

Every match then has a raw value that lower-cases to one of the filter's values. Those raw
values are few, but a sort-index probe from the start of the order (vql/sql.py `_probe`)
reads the rows of every other value before them (Australia, Brazil, Canada, France: 250k
of 1M contacts before Germany), and the `matched` arm sorts every match (100k). Instead:

1. `first_value`: the first raw value in sort order (from the cursor's on) that the filter
   keeps, found by a loose scan of the sort index: one descent per distinct value, the
   filter's keyword check made on the value itself (it reads nothing else), at most
   PINNED_VALUE_STEPS values (past them, none: the `matched` arm answers).
2. The probe: that value's rows in uuid order (an index range of the `(key, uuid)` sort
   index), filtered, the first `need` kept (vql/sql.py `_GROUP_PROBE` does the same for a
   company key). All share the value, so uuid order is the page's order, and every match
   outside the walk sorts after it: no value between the cursor's and this one has a match.
3. Only when that value's rows are too few (a page crossing into the next value): the
   next raw value the filter keeps (`next_value`, the same loose scan after the first) and
   its first rows the same way; no value between the two has a match either.
"""

from __future__ import annotations

from psycopg import sql

from connectra.models.fields import FieldKind
from connectra.vql.ast import Direction, KeywordCondition, Query

# Distinct values the loose scan reads at most before giving up (a few index pages each).
PINNED_VALUE_STEPS = 300

# The first raw value the filter keeps, from `bound` on, as the CTE `name`: `first_value`
# (the name `_group_walk_start` of vql/sql.py reads) from the cursor's value, `next_value`
# after it (read only when the first value's rows are too few for the page). The value
# is selected in the column's own collation: lower() under "C" lower-cases ASCII only,
# and the filter's lower(column) does not.
PINNED_VALUE = sql.SQL(
    "{name} AS MATERIALIZED ("
    "WITH RECURSIVE walk(value, step) AS (("
    "SELECT {column}, 1 FROM {table} AS c WHERE c.deleted_at IS NULL AND {key} IS NOT NULL"
    "{bound} ORDER BY {key} {direction} LIMIT 1"
    ") UNION ALL SELECT next.value, walk.step + 1 FROM walk CROSS JOIN LATERAL ("
    "SELECT {column} AS value FROM {table} AS c WHERE c.deleted_at IS NULL "
    'AND {key} {beyond} (walk.value COLLATE "C") ORDER BY {key} {direction} LIMIT 1'
    ") AS next WHERE lower(walk.value) <> ALL({values}::text[]) AND walk.step < {steps}"
    ") SELECT value FROM walk WHERE lower(value) = ANY({values}::text[]) LIMIT 1)"
)
# One value's walk: its uuids in order (cursor included: the keyset of `probe_where`
# drops it and what precedes it), at most `window`, read index-only from the sort index
# (a value of a few thousand rows was otherwise read whole through a bitmap and sorted,
# its window being larger), then each row by its uuid, filtered.
PINNED_READ = sql.SQL(
    "SELECT c.uuid FROM {table} AS c WHERE c.deleted_at IS NULL "
    "AND {key} = (SELECT value FROM {value}) AND c.uuid {from_uuid} "
    "ORDER BY c.uuid {direction} LIMIT {window}"
)
PINNED_WALK = sql.SQL(
    "SELECT {sort_values} FROM ({read}) AS walked JOIN {table} AS c ON c.uuid = walked.uuid"
    "{join} WHERE {probe_where} ORDER BY c.uuid {direction}"
)


def pinning_condition(query: Query) -> KeywordCondition | None:
    """The must keyword condition on the leading sort key itself (a group of its own), when
    the sort is that key then the uuid tie-break and a cursor, if any, is on a value (past
    the NULLs nothing is left to match)."""
    if len(query.sort) != 2 or query.sort[1].field.name != "uuid":
        return None
    leading = query.sort[0].field
    if leading.kind not in (FieldKind.KEYWORD, FieldKind.TEXT) or leading.is_array:
        return None
    if query.search_after is not None and query.search_after[0] is None:
        return None
    for group in query.filter.must:
        only = group.conditions[0] if len(group.conditions) == 1 else None
        if isinstance(only, KeywordCondition) and only.field == leading:
            return only
    return None


def walk_direction(query: Query) -> tuple[sql.SQL, sql.SQL]:
    """The loose scan's ORDER BY direction and the comparison to the next value."""
    if query.sort[0].direction is Direction.DESC:
        return sql.SQL("DESC"), sql.SQL("<")
    return sql.SQL("ASC"), sql.SQL(">")
