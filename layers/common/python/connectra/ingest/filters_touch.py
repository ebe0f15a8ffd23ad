"""Keep `filters_data` exact for the (filter, value) pairs an import chunk touched.

The recount itself is `connectra.db.filters.refresh_filter_values` (shared with the CRUD
routes). A chunk collects the stored-filter values its rows held before (returned by the
upsert, read under the row locks it writes with) and after, and recounts those pairs once,
at its end, inside its own transaction: exact whatever the order in which chunks finish,
while the loading stays parallel (see `refresh_filter_values` for the serialization).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from connectra.db.filters import refresh_filter_values, stored_filter_keys
from connectra.models.fields import FIELDS_BY_ENTITY, Entity


@dataclass
class FilterTouches:
    """The (filter key, value) pairs one chunk touched, and their recount."""

    entity: Entity
    keys: list[str]
    values: dict[str, set[Any]] = field(default_factory=dict)

    @classmethod
    def for_entity(cls, conn: Connection[Any], entity: Entity) -> FilterTouches:
        return cls(entity, stored_filter_keys(conn, entity))

    def add_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Collect the rows' stored-filter values (a column at a time: a hot loop)."""
        rows = rows if isinstance(rows, list) else list(rows)
        fields = FIELDS_BY_ENTITY[self.entity]
        for key in self.keys:
            seen = self.values.setdefault(key, set())
            if fields[key].is_array:
                for row in rows:
                    items = row.get(key)
                    if items:
                        seen.update(items if isinstance(items, list) else (items,))
            else:
                seen.update([row.get(key) for row in rows])
            seen.discard(None)
            seen.discard("")

    def refresh(self, conn: Connection[Any]) -> None:
        """Recount every touched pair (call last in the chunk's transaction)."""
        if not any(self.values.values()):
            return
        fields = FIELDS_BY_ENTITY[self.entity]
        rows: list[dict[str, Any]] = []
        for key, values in sorted(self.values.items()):
            is_array = fields[key].is_array
            rows.extend({key: [value] if is_array else value} for value in values)
        refresh_filter_values(conn, self.entity, rows)
