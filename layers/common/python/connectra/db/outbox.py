"""The search outbox: index work committed in the same transaction as the rows it covers.

Two forms, drained alike (search/indexing.py): a `search_outbox` row per record (the API's
writes, retries, repairs), and a `search_outbox_batches` row per imported batch holding
its records' uuids (migration pipeline_1: one row instead of thousands of index entries).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from psycopg import Connection, sql

Operation = Literal["upsert", "delete"]

_ENQUEUE = """
INSERT INTO search_outbox (entity, record_uuid, operation)
SELECT %(entity)s, source.id, %(operation)s FROM {source} ORDER BY source.id
ON CONFLICT (entity, record_uuid) DO UPDATE
SET operation = excluded.operation, enqueued_at = clock_timestamp(),
    attempts = 0, next_attempt_at = now(), last_error = NULL
"""

# A company's fields are denormalized into its contacts' documents: re-index them too.
_ENQUEUE_COMPANY_CONTACTS = """
INSERT INTO search_outbox (entity, record_uuid, operation)
SELECT 'contacts', c.uuid, 'upsert' FROM contacts c
WHERE c.company_id IN (SELECT source.id FROM {source}) AND c.deleted_at IS NULL
ORDER BY c.uuid
ON CONFLICT (entity, record_uuid) DO UPDATE
SET operation = 'upsert', enqueued_at = clock_timestamp(),
    attempts = 0, next_attempt_at = now(), last_error = NULL
"""

_GIVEN_IDS = sql.SQL("unnest(%(ids)s::uuid[]) AS source(id)")
_JOINED_IDS = sql.SQL("unnest(string_to_array(%(ids)s, ',')::uuid[]) AS source(id)")


def _enqueue_from(
    conn: Connection[Any],
    entity: str,
    source: sql.Composable,
    operation: Operation,
    params: dict[str, Any],
) -> None:
    values = {"entity": entity, "operation": operation, **params}
    conn.execute(sql.SQL(_ENQUEUE).format(source=source), values)
    if entity == "companies":
        conn.execute(sql.SQL(_ENQUEUE_COMPANY_CONTACTS).format(source=source), params)


def enqueue(
    conn: Connection[Any], entity: str, ids: Sequence[uuid.UUID], operation: Operation
) -> None:
    if ids:
        _enqueue_from(conn, entity, _GIVEN_IDS, operation, {"ids": list(ids)})


def enqueue_joined(conn: Connection[Any], entity: str, ids: str) -> None:
    """Enqueue upserts of comma-joined ids (cheaper to send than a uuid[] parameter)."""
    if ids:
        _enqueue_from(conn, entity, _JOINED_IDS, "upsert", {"ids": ids})


def batch_statement(entity: str, ids: str) -> str:
    """SQL queueing one batch entry for the uuids the query `ids` returns (none: no entry).
    `entity` is one of the two entity names (a constant, not user input)."""
    if entity not in ("contacts", "companies"):
        raise ValueError(f"not an entity: {entity!r}")
    return (
        "INSERT INTO search_outbox_batches (entity, record_uuids) "
        f"SELECT '{entity}', array_agg(DISTINCT queued.id) FROM ({ids}) AS queued(id) "
        "HAVING count(*) > 0"
    )


def import_statements(entity: str, ids: str) -> list[str]:
    """SQL queueing the upserts of the uuids the query `ids` returns as an import's batch
    does (`enqueue_joined_batch`), without parameters: contacts as one batch entry;
    companies as a row per record and one per live contact of each."""
    if entity == "contacts":
        return [batch_statement(entity, ids)]
    if entity != "companies":
        raise ValueError(f"not an entity: {entity!r}")
    constants = {"entity": "'companies'", "operation": "'upsert'"}
    source = f"({ids}) AS source(id)"
    return [
        (_ENQUEUE % constants).format(source=source),
        _ENQUEUE_COMPANY_CONTACTS.format(source=source),
    ]


def enqueue_joined_batch(conn: Connection[Any], entity: str, ids: str) -> None:
    """Enqueue upserts of comma-joined ids as one batch entry. Contacts only: a company's
    change re-indexes its contacts too, which per-record rows queue (`enqueue_joined`)."""
    if entity != "contacts":
        enqueue_joined(conn, entity, ids)
    elif ids:
        unnested = "SELECT unnest(string_to_array(%(ids)s, ',')::uuid[])"
        conn.execute(batch_statement(entity, unnested), {"ids": ids})
