"""The search outbox: index work committed in the same transaction as the rows it covers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from psycopg import Connection

Operation = Literal["upsert", "delete"]

_ENQUEUE = """
INSERT INTO search_outbox (entity, record_uuid, operation)
SELECT %(entity)s, id, %(operation)s FROM unnest(%(ids)s::uuid[]) AS id
ON CONFLICT (entity, record_uuid) DO UPDATE
SET operation = excluded.operation, enqueued_at = clock_timestamp(),
    attempts = 0, next_attempt_at = now(), last_error = NULL
"""

# A company's fields are denormalized into its contacts' documents: re-index them too.
_ENQUEUE_COMPANY_CONTACTS = """
INSERT INTO search_outbox (entity, record_uuid, operation)
SELECT 'contacts', c.uuid, 'upsert' FROM contacts c
WHERE c.company_id = ANY(%(ids)s::uuid[]) AND c.deleted_at IS NULL
ON CONFLICT (entity, record_uuid) DO UPDATE
SET operation = 'upsert', enqueued_at = clock_timestamp(),
    attempts = 0, next_attempt_at = now(), last_error = NULL
"""


def enqueue(
    conn: Connection[Any], entity: str, ids: Sequence[uuid.UUID], operation: Operation
) -> None:
    if not ids:
        return
    conn.execute(_ENQUEUE, {"entity": entity, "ids": list(ids), "operation": operation})
    if entity == "companies":
        conn.execute(_ENQUEUE_COMPANY_CONTACTS, {"ids": list(ids)})
