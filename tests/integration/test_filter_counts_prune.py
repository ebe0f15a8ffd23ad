"""The filter counts' prune (db/filter_counts.py `_PRUNE`) is planned for each call's own
values, never as a prepared generic plan: that plan estimated 10 changed values whatever
their number and probed the value's trigram GIN once per value (21 s for one batch of a
combined import's company ids, where primary-key lookups take milliseconds)."""

from __future__ import annotations

from typing import Any

import psycopg

from connectra.db.filter_counts import FilterChanges
from connectra.models.fields import Entity

CALLS = 8  # psycopg prepares a statement on its 5th execution on one connection


def test_the_prune_is_never_prepared_and_drops_values_no_record_holds(
    conn: psycopg.Connection[Any],
) -> None:
    titles = [{"title": f"title {index}"} for index in range(20)]
    for _ in range(CALLS):
        changes = FilterChanges(Entity.CONTACTS, ["title"])
        changes.add(titles)
        changes.apply(conn)
        changes = FilterChanges(Entity.CONTACTS, ["title"])
        changes.remove(titles[:10])  # each call leaves the first ten with a count of 0
        changes.apply(conn)
    prepared = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    assert not any("DELETE FROM filters_data" in row["statement"] for row in prepared)
    assert any("INSERT INTO filters_data" in row["statement"] for row in prepared)
    kept = conn.execute(
        "SELECT value, count FROM filters_data WHERE service = 'contacts' "
        "AND filter_key = 'title' ORDER BY value"
    ).fetchall()
    assert {row["value"] for row in kept} == {f"title {index}" for index in range(10, 20)}
    assert {row["count"] for row in kept} == {CALLS}
