"""Keep `filters_data` exact for the (filter, value) pairs an import chunk touched.

The recount itself is `connectra.db.filters.refresh_filter_values` (shared with the CRUD
routes). A chunk collects the stored-filter values its rows had before (the records it
updates, read just before each upsert) and after, and recounts those pairs once, at its
end, inside its own transaction. A transaction-scoped advisory lock serializes only this
final recount across parallel chunks, so each recount sees every chunk committed before
it: exact whatever the order in which chunks finish, while the loading stays parallel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row

from connectra.db.filters import refresh_filter_values, stored_filter_keys
from connectra.models.fields import FIELDS_BY_ENTITY, Entity

_LOCK_CLASS = 7_400_117  # advisory lock of the filters_data recounts


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

    def snapshot(self, conn: Connection[Any], rows: list[dict[str, Any]]) -> None:
        """Collect the current values of the records `rows` will update (by uuid or key)."""
        if not self.keys:
            return
        ids: Any = [row["uuid"] for row in rows]
        keys: Any
        if self.entity is Entity.CONTACTS:
            # Comma-joined text: cheaper to send than arrays (no comma in a uuid or an email).
            ids = ",".join(map(str, ids))
            keys = ",".join([row["email"] for row in rows if row.get("email")])
            match = sql.SQL(
                "uuid = ANY(string_to_array(%s, ',')::uuid[]) "
                "OR lower(email) = ANY(string_to_array(%s, ','))"
            )
        else:
            keys = [row["normalized_domain"] for row in rows if row.get("normalized_domain")]
            match = sql.SQL("uuid = ANY(%s) OR normalized_domain = ANY(%s)")
        query = sql.SQL("SELECT {columns} FROM {table} WHERE {match}").format(
            columns=sql.SQL(", ").join(map(sql.Identifier, self.keys)),
            table=sql.Identifier(self.entity.value),
            match=match,
        )
        self.add_rows(conn.cursor(row_factory=dict_row).execute(query, (ids, keys)).fetchall())

    def refresh(self, conn: Connection[Any]) -> None:
        """Recount every touched pair (call last in the chunk's transaction)."""
        if not any(self.values.values()):
            return
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_CLASS,))
        fields = FIELDS_BY_ENTITY[self.entity]
        rows: list[dict[str, Any]] = []
        for key, values in sorted(self.values.items()):
            is_array = fields[key].is_array
            rows.extend({key: [value] if is_array else value} for value in values)
        refresh_filter_values(conn, self.entity, rows)
