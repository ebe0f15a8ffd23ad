"""`bulk_upsert` reports the values an update replaced, even when another writer races it.

filters_data recounts depend on it: a value that a concurrent transaction wrote and this
one overwrote must be recounted, or its count stays too high.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg

from connectra.db.upsert import UpsertResult, bulk_upsert
from connectra.models.fields import Entity
from connectra.models.records import ContactIn
from tests.integration.locks import wait_until_blocked_by

EMAIL = "race@example.com"


def row(title: str, email: str = EMAIL) -> dict[str, Any]:
    return ContactIn(email=email, first_name="Ada", title=title).to_row()


def upsert(conn: psycopg.Connection[Any], title: str, *also: str) -> UpsertResult:
    """Write the contested contact with `title`, and a fresh contact per email in `also`."""
    rows = [row(title), *(row(title, email) for email in also)]
    return bulk_upsert(
        conn, Entity.CONTACTS, rows, enqueue_search=False, previous_columns=["title"]
    )


def in_thread(action: Callable[[], UpsertResult]) -> tuple[threading.Thread, list[UpsertResult]]:
    results: list[UpsertResult] = []
    thread = threading.Thread(target=lambda: results.append(action()))
    thread.start()
    return thread, results


def racing_upsert(url: str, first_title: str, second_title: str, *also: str) -> UpsertResult:
    """`first_title` is written and held uncommitted while `second_title` races it."""
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        upsert(first, first_title)
        thread, results = in_thread(lambda: upsert(second, second_title, *also))
        wait_until_blocked_by(url, second.info.backend_pid, first.info.backend_pid, thread)
        first.commit()
        thread.join(timeout=30)
        second.commit()
    assert results, "the racing upsert did not finish"
    return results[0]


def test_an_update_reports_the_values_it_replaced(conn: psycopg.Connection[Any]) -> None:
    upsert(conn, "CEO")
    result = upsert(conn, "CTO")
    assert result.inserted == []
    assert result.previous == [{"title": "CEO"}]
    assert len(result.updated) == 1


def test_an_insert_reports_no_previous_values(conn: psycopg.Connection[Any]) -> None:
    result = upsert(conn, "CEO")
    assert len(result.inserted) == 1
    assert result.previous == []


def test_an_update_racing_another_update_reports_the_committed_version(clean_db: str) -> None:
    # Given a stored record
    with psycopg.connect(clean_db) as setup:
        upsert(setup, "Original")
    # When one writer changes it, and a second one writes it while the first has not committed
    result = racing_upsert(clean_db, "First", "Second")
    # Then the second reports the first writer's value, not the one it read before waiting
    assert result.previous == [{"title": "First"}]


def test_an_insert_racing_another_insert_reports_the_winner_of_the_key(clean_db: str) -> None:
    # When two writers insert the same new key, the second while the first has not committed
    result = racing_upsert(clean_db, "First", "Second")
    # Then the second updates the first's record and reports the value it replaced
    assert result.inserted == []
    assert result.previous == [{"title": "First"}]
    with psycopg.connect(clean_db) as check:
        titles = check.execute("SELECT title FROM contacts").fetchall()
    assert titles == [("Second",)]


def test_a_racing_batch_still_reports_its_fresh_records_as_inserted(clean_db: str) -> None:
    # When the second writer's batch holds the contested key and keys nobody else has
    fresh = ["fresh1@example.com", "fresh2@example.com"]
    result = racing_upsert(clean_db, "First", "Second", *fresh)
    # Then only the contested record counts as updated, with the first writer's value
    assert result.previous == [{"title": "First"}]
    assert len(result.updated) == 1
    assert sorted(result.inserted) == sorted(ContactIn(email=e).record_uuid() for e in fresh)
