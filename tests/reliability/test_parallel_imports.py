"""Eight imports at once, in eight processes, of overlapping files into the same table:
no deadlock is left unhandled, every job completes, and the final state follows the
rules — each contested record holds one contender's version, each key is inserted
exactly once across all jobs, every job's counts add up, and filter counts do not drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from connectra.db.filters import rebuild_filter_values
from connectra.ingest.events import ImportSummary
from connectra.models.fields import Entity
from connectra.storage.s3 import ObjectStore
from tests.reliability.helpers import finish_worker, query, start_worker, upload_job

JOBS = 8
KEYS_PER_FILE = 600
SHIFT = 100  # file i holds keys [i*SHIFT, i*SHIFT + KEYS_PER_FILE): neighbours share 500
HEADER = "First Name,Email,Title,Departments,Seniority,Company Name,Company Domain\n"


def keys_of(job: int) -> range:
    return range(job * SHIFT, job * SHIFT + KEYS_PER_FILE)


def overlapping_file(job: int) -> bytes:
    """Keys in an order of their own per file (rotated), values naming the job."""
    keys = list(keys_of(job))
    rotated = keys[job * 37 % len(keys) :] + keys[: job * 37 % len(keys)]
    lines = [HEADER] + [
        f"P{k},p{k}@example.com,Job{job},Sales; Dept{job},Level{k % 5},"
        f"Company {k % 23},co{k % 23}.example\n"
        for k in rotated
    ]
    return "".join(lines).encode()


def filters_from_scratch(url: str) -> list[dict[str, Any]]:
    """filters_data recounted from the tables (in a transaction that is rolled back)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        for entity in Entity:
            rebuild_filter_values(conn, entity)
        rows = conn.execute(
            "SELECT service, filter_key, value, count FROM filters_data "
            "ORDER BY service, filter_key, value"
        ).fetchall()
        conn.rollback()
    return rows


@pytest.mark.slow
def test_eight_parallel_overlapping_imports_complete_with_a_consistent_state(
    server_store: ObjectStore, clean_db: str, small_batches: int, tmp_path: Path
) -> None:
    # Given 8 uploaded files whose keys overlap, each in several chunks of small batches
    jobs = [upload_job(server_store, overlapping_file(i), chunk_size=12_000) for i in range(JOBS)]

    # When each is imported by its own process, all at once
    workers = [start_worker({"import": job.model_dump(mode="json")}, tmp_path) for job in jobs]
    summaries = [
        ImportSummary.model_validate(finish_worker(worker, timeout=150)[0]["result"])
        for worker in workers
    ]

    # Then every job completed (a deadlock, if any, was retried away)
    assert [s.status for s in summaries] == ["completed"] * JOBS, [s.error for s in summaries]
    assert all(s.chunks_total > 2 and s.chunks_done == s.chunks_total for s in summaries)
    # And each job's counts add up to its rows
    for summary in summaries:
        assert summary.total == KEYS_PER_FILE
        assert summary.inserted + summary.updated + summary.duplicates + summary.failed == (
            summary.total
        )
    # And every key was inserted exactly once across all jobs
    all_keys = set().union(*(set(keys_of(i)) for i in range(JOBS)))
    contacts = query(clean_db, "SELECT email, title, departments, company_id FROM contacts")
    assert len(contacts) == len(all_keys)
    assert sum(s.inserted for s in summaries) == len(all_keys)
    # And each contested record holds the whole version of one job that had its key
    for row in contacts:
        key = int(row["email"][1:].split("@")[0])
        job = int(row["title"].removeprefix("Job"))
        assert key in keys_of(job), row
        assert row["departments"] == ["Sales", f"Dept{job}"], row
    # And one company per domain, every contact linked to its own
    companies = query(clean_db, "SELECT uuid, normalized_domain FROM companies")
    assert len(companies) == 23
    linked = query(
        clean_db,
        "SELECT count(*) AS n FROM contacts c JOIN companies co ON co.uuid = c.company_id "
        "WHERE co.normalized_domain = 'co' || (substring(c.email from 2 for "
        "position('@' in c.email) - 2)::int % 23) || '.example'",
    )
    assert linked == [{"n": len(all_keys)}]
    # And the filter counts kept incrementally equal a recount from scratch
    kept = query(
        clean_db,
        "SELECT service, filter_key, value, count FROM filters_data "
        "ORDER BY service, filter_key, value",
    )
    assert kept == filters_from_scratch(clean_db)
    assert query(clean_db, "SELECT count(*) AS n FROM import_keys") == [{"n": 0}]
