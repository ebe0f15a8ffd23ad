"""Row errors, retries, crashes and duplicates: the final rows and counts are always exact."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from connectra.ingest import chunk as chunk_module
from connectra.ingest import load
from connectra.local.pipeline import invoke, run_import
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import BUCKET, upload_job

HEADER = "First Name,Email,Title,Departments\n"


def contacts_csv(count: int, start: int = 0, title: str = "Engineer") -> str:
    return "".join(
        f"Person{i},person{i}@example.com,{title},Engineering; Sales\n"
        for i in range(start, start + count)
    )


def prepare_chunks(store: ObjectStore, body: bytes, chunk_size: int) -> list[dict[str, Any]]:
    job = upload_job(store, body, chunk_size=chunk_size)
    plan = invoke("plan", job.model_dump(mode="json"))
    ranges = store.get_json(plan["manifest_bucket"], plan["manifest_key"])
    counts = [invoke("count", item) for item in ranges]
    bounds = invoke("boundaries", {**plan, "counts": counts})
    items: list[dict[str, Any]] = store.get_json(bounds["manifest_bucket"], bounds["manifest_key"])
    return items


def contact_rows(conn: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(row.values())
        for row in conn.execute(
            "SELECT email, first_name, title, departments FROM contacts ORDER BY email"
        ).fetchall()
    ]


def test_bad_rows_are_reported_with_line_numbers_while_good_rows_load(
    store: ObjectStore, conn: Any, s3: Any
) -> None:
    body = (
        HEADER
        + contacts_csv(3)
        + 'Bad,not-an-email,"multi\nline title",x\n'  # line 5, spans 2 lines
        + "\n"  # blank line 7: skipped, not an error
        + "Short,row\n"  # line 8
        + contacts_csv(2, start=10)
    ).encode()
    job = upload_job(store, body, chunk_size=16)

    summary = run_import(job, workers=1)

    assert summary.status == "completed_with_errors"
    assert (summary.total, summary.inserted, summary.failed) == (7, 5, 2)
    report = s3.get_object(Bucket=BUCKET, Key=summary.error_report_key)["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [(row["line"], row["column"]) for row in rows] == [("5", "Email"), ("8", "")]
    assert "not a valid email address" in rows[0]["message"]
    assert "has 2 fields" in rows[1]["message"]
    assert summary.error_report_url and "errors.csv" in summary.error_report_url
    assert len(contact_rows(conn)) == 5


def test_a_chunk_run_twice_gives_the_same_rows_and_counts(store: ObjectStore, conn: Any) -> None:
    items = prepare_chunks(store, (HEADER + contacts_csv(30)).encode(), chunk_size=400)
    first = [invoke("chunk", item) for item in items]
    rows_after_first = contact_rows(conn)

    again = [invoke("chunk", item) for item in items]
    summary = invoke("finalize", {"job_id": items[0]["job_id"]})

    assert again == first
    assert contact_rows(conn) == rows_after_first
    assert (summary["total"], summary["inserted"], summary["updated"]) == (30, 30, 0)


def test_a_chunk_that_crashes_after_its_first_batch_is_retried_exactly(
    store: ObjectStore, conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_BATCH_SIZE", "7")
    from connectra.settings import get_settings

    get_settings.cache_clear()
    items = prepare_chunks(store, (HEADER + contacts_csv(40)).encode(), chunk_size=10_000)
    assert len(items) == 1
    # Each batch ends in `_take_counts`, on the SQL path and the Python one alike.
    real_take = chunk_module._RangeLoad._take_counts
    calls = {"n": 0}

    def crash_on_second_batch(self: Any, counts: load.BatchCounts) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected crash after the first batch")
        real_take(self, counts)

    monkeypatch.setattr(chunk_module._RangeLoad, "_take_counts", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="injected crash"):
        invoke("chunk", items[0])
    chunk = conn.execute("SELECT status, attempts FROM job_chunks").fetchone()
    conn.commit()
    assert chunk == {"status": "failed", "attempts": 1}
    assert contact_rows(conn) == []  # the first batch rolled back with the attempt

    retried = invoke("chunk", items[0])

    assert (retried["rows"], retried["inserted"]) == (40, 40)
    assert len(contact_rows(conn)) == 40
    assert conn.execute("SELECT attempts FROM job_chunks").fetchone()["attempts"] == 2
    get_settings.cache_clear()


def test_duplicates_across_chunks_resolve_to_the_last_row_in_any_order(
    store: ObjectStore, conn: Any
) -> None:
    body = (
        HEADER
        + contacts_csv(5, title="First")
        + contacts_csv(20, start=100)
        + contacts_csv(5, title="Last")
    ).encode()
    items = prepare_chunks(store, body, chunk_size=200)
    assert len(items) > 3

    for item in reversed(items):  # the last chunk commits first
        invoke("chunk", item)
    summary = invoke("finalize", {"job_id": items[0]["job_id"]})

    titles = {
        row["email"]: row["title"]
        for row in conn.execute("SELECT email, title FROM contacts").fetchall()
    }
    assert all(titles[f"person{i}@example.com"] == "Last" for i in range(5))
    assert (summary["total"], summary["duplicates"], summary["inserted"]) == (30, 5, 25)
    assert summary["updated"] == 0
    assert conn.execute("SELECT count(*) AS n FROM import_keys").fetchone()["n"] == 0


def test_filter_values_are_counted_for_the_imported_rows(store: ObjectStore, conn: Any) -> None:
    job = upload_job(store, (HEADER + contacts_csv(12)).encode(), chunk_size=300)
    run_import(job, workers=1)
    counts = {
        (row["filter_key"], row["value"]): row["count"]
        for row in conn.execute("SELECT filter_key, value, count FROM filters_data").fetchall()
    }
    assert counts[("departments", "engineering")] == 12
    assert counts[("title", "engineer")] == 12


def test_ndjson_imports_through_the_same_pipeline(store: ObjectStore, conn: Any) -> None:
    lines = [
        json.dumps({"name": f"Co {i}", "domain": f"co{i}.io", "industries": ["SaaS"], "x": 1})
        for i in range(25)
    ]
    lines.insert(3, '{"name": ')  # broken JSON on line 4
    job = upload_job(
        store,
        ("\n".join(lines) + "\n").encode(),
        entity="companies",
        filename="companies.ndjson",
        chunk_size=256,
    )

    summary = run_import(job, workers=1)

    assert summary.chunks_total > 2
    assert (summary.total, summary.inserted, summary.failed) == (26, 25, 1)
    errors = conn.execute(
        "SELECT line, column_name, message FROM job_row_errors ORDER BY line"
    ).fetchall()
    assert errors[0] == {"line": 0, "column_name": "x", "message": "unknown field, ignored"}
    assert errors[1]["line"] == 4 and "not valid JSON" in errors[1]["message"]


def test_an_empty_file_fails_the_job_with_a_reason(store: ObjectStore) -> None:
    job = upload_job(store, b"\n\n", chunk_size=1024)
    summary = run_import(job, workers=1)
    assert summary.status == "failed"
    assert summary.error and "needs a header row" in summary.error


def test_a_header_only_file_completes_with_no_rows(store: ObjectStore) -> None:
    summary = run_import(upload_job(store, HEADER.encode()), workers=1)
    assert (summary.status, summary.total, summary.error_report_key) == ("completed", 0, None)
