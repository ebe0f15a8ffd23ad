"""Re-importing unchanged records does not rewrite them; changed or deleted ones are written."""

from __future__ import annotations

from typing import Any

import psycopg

from connectra.db.upsert import bulk_upsert
from connectra.models.fields import Entity
from connectra.models.records import ContactIn


def versions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Each contact's row version (xmin changes whenever the row is rewritten)."""
    rows = conn.execute("SELECT email, xmin::text AS version FROM contacts").fetchall()
    return {row["email"]: row["version"] for row in rows}


def test_unchanged_rows_are_not_rewritten_but_changed_and_deleted_ones_are(
    conn: psycopg.Connection[Any],
) -> None:
    rows = [
        ContactIn(email=f"{name}@example.com", title="CEO").to_row()
        for name in ("same", "changed", "deleted")
    ]
    bulk_upsert(conn, Entity.CONTACTS, rows, enqueue_search=False)
    conn.execute("UPDATE contacts SET deleted_at = now() WHERE email = 'deleted@example.com'")
    conn.commit()
    before = versions(conn)

    rows[1]["title"] = "CTO"
    result = bulk_upsert(conn, Entity.CONTACTS, rows, enqueue_search=False)
    conn.commit()

    after = versions(conn)
    assert after["same@example.com"] == before["same@example.com"]
    assert after["changed@example.com"] != before["changed@example.com"]
    assert after["deleted@example.com"] != before["deleted@example.com"]
    assert len(result.updated) == 3  # the job still reports every record as updated
    live = conn.execute("SELECT count(*) AS n FROM contacts WHERE deleted_at IS NULL").fetchone()
    assert live is not None and live["n"] == 3
    title = conn.execute("SELECT title FROM contacts WHERE email = 'changed@example.com'")
    assert title.fetchone() == {"title": "CTO"}
