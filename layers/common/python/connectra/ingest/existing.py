"""Which of a file's records already exist: the dry run's inserted / updated split.

An import updates a record when its uuid is stored (live or soft-deleted: the write
revives it) or when a live record already holds its natural key (a contact's email, a
company's domain: db/upsert.py and ingest/combined.py resolve the row to that record);
otherwise it inserts one. The dry run collects each distinct record's uuid and natural
key (`NaturalKeys`) and looks them up here, in batches, in a READ ONLY transaction: the
lookup can neither write nor lock anything an import would wait on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import tuple_row

from connectra.models.fields import Entity

LOOKUP_BATCH = 5_000

# The natural key as the live unique index holds it (migration 0005: live records only).
_NATURAL_KEY = {
    Entity.CONTACTS: sql.SQL("lower(email)"),
    Entity.COMPANIES: sql.SQL("normalized_domain"),
}


@dataclass
class NaturalKeys:
    """Distinct records of a file: uuid (as an int) → natural key (None: the row has none)."""

    entity: Entity
    keys: dict[int, str | None] = field(default_factory=dict)

    def add(self, record_uuid: uuid.UUID, natural: Any) -> None:
        key = natural.lower() if isinstance(natural, str) and natural else None
        self.keys[record_uuid.int] = key


@dataclass(frozen=True)
class Split:
    inserted: int
    updated: int


@contextmanager
def read_only(conn: Connection[Any]) -> Iterator[Connection[Any]]:
    """A READ ONLY transaction of its own on `conn` (one in progress is committed first:
    READ ONLY must be set before the transaction's first query)."""
    conn.commit()
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        yield conn


def split_existing(conn: Connection[Any], found: NaturalKeys) -> Split:
    """How many of `found`'s records an import would insert and update (the caller holds
    the transaction: `read_only`)."""
    items = sorted(found.keys.items())
    existing = 0
    for start in range(0, len(items), LOOKUP_BATCH):
        existing += _existing_in(conn, found.entity, items[start : start + LOOKUP_BATCH])
    return Split(inserted=len(items) - existing, updated=existing)


def _existing_in(conn: Connection[Any], entity: Entity, batch: list[tuple[int, str | None]]) -> int:
    natural = _NATURAL_KEY[entity]
    statement = sql.SQL(
        "SELECT uuid, CASE WHEN deleted_at IS NULL THEN {natural} END FROM {table} "
        "WHERE uuid = ANY(%(ids)s) OR ({natural} = ANY(%(names)s) AND deleted_at IS NULL)"
    ).format(natural=natural, table=sql.Identifier(entity.value))
    ids = [uuid.UUID(int=key) for key, _ in batch]
    names = [name for _, name in batch if name]
    rows = conn.cursor(row_factory=tuple_row).execute(statement, {"ids": ids, "names": names})
    stored_ids: set[int] = set()
    live_names: set[str] = set()
    for stored_uuid, live_name in rows.fetchall():
        stored_ids.add(stored_uuid.int)
        if live_name:
            live_names.add(live_name)
    return sum(1 for key, name in batch if key in stored_ids or (name and name in live_names))
