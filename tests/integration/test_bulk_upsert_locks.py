"""`bulk_upsert` locks existing rows FOR NO KEY UPDATE: a companies import updating a
company does not wait for a contacts chunk whose foreign key check holds a KEY SHARE
lock on it (chunks check foreign keys immediately and commit at their end); two writers
of one row still wait for each other.

A wait is observed on the writer's own backend (`pg_blocking_pids(pid)` naming the chunk's
backend), not as any waiter in the cluster.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from connectra.db.upsert import bulk_upsert
from connectra.models.fields import Entity
from connectra.models.records import CompanyIn, ContactIn

OBSERVE_SECONDS = 30.0


def company_row(employees: int) -> dict[str, Any]:
    return CompanyIn(
        name="Analytical Engines", normalized_domain="analytical.example", employees_count=employees
    ).to_row()


@contextmanager
def contacts_chunk_referencing(url: str, company_id: uuid.UUID) -> Iterator[int]:
    """A contacts chunk's open transaction: its foreign key check (immediate, as chunks
    set it) holds a KEY SHARE lock on the company until the chunk commits. Yields its pid."""
    with psycopg.connect(url, row_factory=dict_row) as chunk:
        chunk.execute("SET CONSTRAINTS ALL IMMEDIATE")
        row = ContactIn(email="ada@analytical.example", company_id=company_id).to_row()
        bulk_upsert(chunk, Entity.CONTACTS, [row], enqueue_search=False)
        pid = chunk.execute("SELECT pg_backend_pid() AS pid").fetchone()
        assert pid is not None
        yield int(pid["pid"])
        chunk.commit()


def run_observed(url: str, write: Callable[[psycopg.Connection[Any]], Any], chunk_pid: int) -> str:
    """Run `write` on a connection of its own in a thread; "finished" if it completes
    without its backend ever waiting, "blocked" once its backend waits on `chunk_pid`."""
    writer = psycopg.connect(url, row_factory=dict_row)
    writer_pid = int(writer.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])  # type: ignore[index]
    writer.commit()
    done = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            write(writer)
            writer.commit()
        except BaseException as exc:  # reported by the assertion below
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    outcome = ""
    with psycopg.connect(url, autocommit=True) as observer:
        deadline = time.monotonic() + OBSERVE_SECONDS
        while not outcome and time.monotonic() < deadline:
            (blockers,) = observer.execute(
                "SELECT pg_blocking_pids(%s)", (writer_pid,)
            ).fetchone() or ([],)
            if chunk_pid in blockers:
                outcome = "blocked"
            elif done.wait(0.02):
                outcome = "finished"
    if outcome == "blocked":
        writer.cancel_safe()  # end the wait: the thread's statement fails, as expected
    thread.join(OBSERVE_SECONDS)
    writer.close()
    if outcome == "finished":
        assert not failure, failure
    return outcome or "timed out"


@pytest.fixture
def stored_company(conn: Any) -> uuid.UUID:
    stored = bulk_upsert(conn, Entity.COMPANIES, [company_row(10)], enqueue_search=False)
    conn.commit()
    return stored.inserted[0]


def test_a_companies_import_does_not_wait_for_a_contacts_chunk_referencing_the_company(
    clean_db: str, stored_company: uuid.UUID, conn: Any
) -> None:
    def companies_batch(writer: psycopg.Connection[Any]) -> None:
        result = bulk_upsert(
            writer,
            Entity.COMPANIES,
            [company_row(500)],
            enqueue_search=False,
            previous_columns=["employees_count"],
        )
        assert result.updated == [stored_company]
        assert result.previous == [{"employees_count": 10}]

    with contacts_chunk_referencing(clean_db, stored_company) as chunk_pid:
        outcome = run_observed(clean_db, companies_batch, chunk_pid)

    assert outcome == "finished"
    row = conn.execute(
        "SELECT employees_count FROM companies WHERE uuid = %s", (stored_company,)
    ).fetchone()
    assert row["employees_count"] == 500
    linked = conn.execute("SELECT company_id FROM contacts").fetchone()
    assert linked["company_id"] == stored_company


def test_the_observation_sees_a_writer_that_waits_for_the_chunk(
    clean_db: str, stored_company: uuid.UUID
) -> None:
    # The control: the lock bulk_upsert took before (FOR UPDATE) conflicts with the
    # chunk's KEY SHARE lock, and the observation sees this writer's backend wait for it.
    def lock_for_update(writer: psycopg.Connection[Any]) -> None:
        writer.execute("SELECT 1 FROM companies WHERE uuid = %s FOR UPDATE", (stored_company,))

    with contacts_chunk_referencing(clean_db, stored_company) as chunk_pid:
        outcome = run_observed(clean_db, lock_for_update, chunk_pid)

    assert outcome == "blocked"


def test_two_writers_of_one_company_still_wait_for_each_other(
    clean_db: str, stored_company: uuid.UUID
) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as first:
        bulk_upsert(first, Entity.COMPANIES, [company_row(20)], enqueue_search=False)
        first_pid = int(first.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])  # type: ignore[index]

        def second_batch(writer: psycopg.Connection[Any]) -> None:
            bulk_upsert(writer, Entity.COMPANIES, [company_row(30)], enqueue_search=False)

        outcome = run_observed(clean_db, second_batch, first_pid)
        first.rollback()

    assert outcome == "blocked"
