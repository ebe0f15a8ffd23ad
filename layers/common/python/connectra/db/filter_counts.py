"""Keep `filters_data` counts exact by applying each transaction's changes as deltas.

A writer collects the stored-filter values of the records it removed (their versions just
before its write, read under the write's row locks: `UpsertResult.previous`, or a locking
read, `FOR UPDATE` or `FOR NO KEY UPDATE`) and of the records it wrote, then adds the
difference to the counts last in its transaction. Deltas commute, so parallel imports
need no global lock and each one costs what it wrote, not what the table holds (a recount
of the values a chunk touched grows with the table: every chunk recounted the common
values of millions of rows). `db.filters.rebuild_filter_values` stays the from-scratch repair.

Values are grouped by `lower()` in PostgreSQL, as the rebuild does, so Python and the
database never disagree on what counts as one value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from connectra.db.filters import display_column, stored_filter_keys
from connectra.db.upsert import UpsertResult
from connectra.models.fields import FIELDS_BY_ENTITY, Entity

# One statement for every changed (key, value). Rows go in (key, value) order so parallel
# writers lock filters_data rows in one order. A display comes only with added records: a
# filter shown by another column (a company's uuid, shown by its name) takes the latest
# name; the others keep the smallest spelling seen, like the rebuild's min(), whatever
# order writers commit in. A net decrement keeps the display it finds.
_APPLY = """
WITH changes AS (
    SELECT change.key, lower(change.item) AS value, min(change.display) AS display_value,
           sum(change.delta)::bigint AS delta
    FROM unnest(%(keys)s::text[], %(items)s::text[], %(displays)s::text[], %(deltas)s::int[])
         AS change(key, item, display, delta)
    GROUP BY 1, 2
)
INSERT INTO filters_data AS f (service, filter_key, value, display_value, count)
SELECT %(service)s, key, value, coalesce(display_value, value), delta FROM changes
WHERE delta <> 0 OR display_value IS NOT NULL
ORDER BY key, value
ON CONFLICT (service, filter_key, value) DO UPDATE SET
    count = f.count + excluded.count,
    display_value = CASE
        WHEN excluded.count < 0 THEN f.display_value
        WHEN f.filter_key = ANY(%(latest_display)s::text[]) THEN excluded.display_value
        ELSE least(f.display_value, excluded.display_value) END,
    updated_at = now()
"""

# Values no live record holds any more leave the list.
_PRUNE = """
DELETE FROM filters_data AS f
USING (
    SELECT DISTINCT change.key, lower(change.item)
    FROM unnest(%(keys)s::text[], %(items)s::text[]) AS change(key, item)
) AS touched(key, value)
WHERE f.service = %(service)s AND f.filter_key = touched.key AND f.value = touched.value
  AND f.count <= 0
"""


@dataclass
class FilterChanges:
    """The count changes one transaction makes to an entity's stored filters."""

    entity: Entity
    keys: list[str]
    deltas: dict[tuple[str, str], int] = field(default_factory=dict)
    displays: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def for_entity(cls, conn: Connection[Any], entity: Entity) -> FilterChanges:
        return cls(entity, stored_filter_keys(conn, entity))

    @property
    def columns(self) -> list[str]:
        """The columns `add` and `remove` read (what to ask the upsert for as `previous`)."""
        shown_by = [display_column(self.entity, key) for key in self.keys]
        return list(dict.fromkeys([*self.keys, *shown_by, "deleted_at"]))

    def add(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Count the records as written (live)."""
        self._count(rows, 1)

    def remove(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Uncount the records' replaced versions (soft-deleted ones were not counted)."""
        self._count([row for row in rows if row.get("deleted_at") is None], -1)

    def count_upsert(self, result: UpsertResult) -> None:
        """An upsert's changes: its replaced versions out, its written rows in."""
        self.remove(result.previous)
        self.add(result.rows)

    def add_deltas(self, changes: Iterable[tuple[str, str, int]]) -> None:
        """Count changes already summed per (key, value) (the SQL import path's)."""
        deltas = self.deltas
        for key, item, delta in changes:
            deltas[(key, item)] = deltas.get((key, item), 0) + delta

    def add_displays(self, displays: Iterable[tuple[str, str, str]]) -> None:
        """What written values show (the SQL import path's, as `add` records them)."""
        for key, item, display in displays:
            self.displays[(key, item)] = display

    def _count(self, rows: Iterable[Mapping[str, Any]], sign: int) -> None:
        rows = rows if isinstance(rows, list) else list(rows)
        fields = FIELDS_BY_ENTITY[self.entity]
        deltas = self.deltas
        for key in self.keys:
            if fields[key].is_array:
                items = [str(item) for row in rows for item in (row.get(key) or ())]
            else:
                items = [str(value) for row in rows if (value := row.get(key)) is not None]
            for item in items:
                pair = (key, item)
                deltas[pair] = deltas.get(pair, 0) + sign
            shown_by = display_column(self.entity, key)
            if sign > 0 and shown_by != key:
                for row in rows:
                    if (value := row.get(key)) is not None:
                        self.displays[(key, str(value))] = str(row.get(shown_by) or value)

    def apply(self, conn: Connection[Any]) -> None:
        """Add the collected changes to `filters_data` (call last in the transaction)."""
        changed = [pair for pair, delta in self.deltas.items() if delta]
        renamed = [pair for pair in self.displays if not self.deltas.get(pair)]
        pairs = changed + renamed
        if not pairs:
            return
        params = {
            "service": self.entity.value,
            "keys": [key for key, _ in pairs],
            "items": [item for _, item in pairs],
            "displays": [self._display(pair) for pair in pairs],
            "deltas": [self.deltas.get(pair, 0) for pair in pairs],
            "latest_display": [k for k in self.keys if display_column(self.entity, k) != k],
        }
        conn.execute(_APPLY, params)
        # Never prepared: a generic plan estimates 10 changed values whatever their number
        # and, for `value = touched.value`, may probe the value's trigram GIN once per value
        # (a 36-character uuid's trigrams each match most company ids): 21 s for one
        # batch's companies, where the custom plan's primary-key lookups take milliseconds.
        conn.execute(_PRUNE, params, prepare=False)
        self.deltas.clear()
        self.displays.clear()

    def _display(self, pair: tuple[str, str]) -> str | None:
        """What an added value shows (None: no added record holds it)."""
        key, item = pair
        if display_column(self.entity, key) != key:
            return self.displays.get(pair)
        return item if self.deltas.get(pair, 0) > 0 else None


def apply_filter_changes(
    conn: Connection[Any],
    entity: Entity,
    *,
    removed: Iterable[Mapping[str, Any]] = (),
    added: Iterable[Mapping[str, Any]] = (),
) -> None:
    """One write's changes: `removed` as they were (read under lock), `added` as written."""
    changes = FilterChanges.for_entity(conn, entity)
    changes.remove(list(removed))
    changes.add(list(added))
    changes.apply(conn)
