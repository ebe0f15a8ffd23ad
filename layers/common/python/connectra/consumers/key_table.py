"""The key table (`api_keys`): consumer, plan and scopes of each API key.

In AWS a row's `key_id` is the API Gateway key id (the API reads it from
`requestContext.identity.apiKeyId`); a key created for local use has a generated id and
the sha256 of its value in `key_hash` (values are never stored).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from connectra.consumers.access import Scope


def key_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    consumer: str
    plan: str
    scopes: frozenset[Scope]
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def of(cls, row: dict[str, Any]) -> KeyRecord:
        return cls(
            key_id=row["key_id"],
            name=row["name"],
            consumer=row["consumer"],
            plan=row["plan"],
            scopes=frozenset(Scope(scope) for scope in row["scopes"]),
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )


def _one(conn: Connection[Any], query: str, params: tuple[Any, ...]) -> KeyRecord | None:
    row = conn.cursor(row_factory=dict_row).execute(query, params).fetchone()
    return KeyRecord.of(row) if row else None


def find_by_id(conn: Connection[Any], key_id: str) -> KeyRecord | None:
    return _one(conn, "SELECT * FROM api_keys WHERE key_id = %s", (key_id,))


def find_by_value(conn: Connection[Any], value: str) -> KeyRecord | None:
    return _one(conn, "SELECT * FROM api_keys WHERE key_hash = %s", (key_hash(value),))


def insert(conn: Connection[Any], record: KeyRecord, value: str | None = None) -> KeyRecord:
    """Add a key (or register an existing API Gateway key id again, un-revoking it)."""
    created = _one(
        conn,
        "INSERT INTO api_keys (key_id, key_hash, name, consumer, plan, scopes) "
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (key_id) DO UPDATE SET name = EXCLUDED.name, consumer = EXCLUDED.consumer, "
        "plan = EXCLUDED.plan, scopes = EXCLUDED.scopes, updated_at = now(), revoked_at = NULL "
        "RETURNING *",
        (
            record.key_id,
            key_hash(value) if value else None,
            record.name,
            record.consumer,
            record.plan,
            sorted(scope.value for scope in record.scopes),
        ),
    )
    assert created is not None
    return created


def list_keys(conn: Connection[Any], *, include_revoked: bool = True) -> list[KeyRecord]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT * FROM api_keys {where} ORDER BY created_at, key_id"
    )
    return [KeyRecord.of(row) for row in rows.fetchall()]


def update(
    conn: Connection[Any],
    key_id: str,
    *,
    plan: str | None = None,
    scopes: frozenset[Scope] | None = None,
) -> KeyRecord | None:
    return _one(
        conn,
        "UPDATE api_keys SET plan = coalesce(%s, plan), scopes = coalesce(%s, scopes), "
        "updated_at = now() WHERE key_id = %s RETURNING *",
        (plan, sorted(s.value for s in scopes) if scopes is not None else None, key_id),
    )


def revoke(conn: Connection[Any], key_id: str) -> KeyRecord | None:
    return _one(
        conn,
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now() "
        "WHERE key_id = %s RETURNING *",
        (key_id,),
    )
