"""Shared helpers: jobs as the upload route makes them, worker processes, table snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from connectra.db.pool import connection
from connectra.ingest.events import PlanInput
from connectra.jobs import repository as jobs
from connectra.local.pipeline import invoke
from connectra.settings import get_settings
from connectra.storage.s3 import ObjectStore

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Every column but the timestamps the database sets (they differ between two runs).
CONTACT_COLUMNS = (
    "uuid, first_name, last_name, email, title, seniority, departments, mobile_phone, "
    "email_status, linkedin_url, city, state, country, company_id, deleted_at"
)
COMPANY_COLUMNS = "uuid, name, normalized_domain, website, linkedin_url, industries, deleted_at"
JOB_COUNTS = ("status", "total_rows", "inserted_rows", "updated_rows", "failed_rows")


def upload_job(
    store: ObjectStore,
    body: bytes,
    *,
    entity: str = "contacts",
    filename: str = "data.csv",
    chunk_size: int | None = None,
    owner: str = "dev",
) -> PlanInput:
    """A job as the upload-url route makes it, its object uploaded and attached (in_queue)."""
    bucket = get_settings().s3_bucket
    job_id = uuid.uuid4()
    key = f"uploads/{entity}/{job_id}/{filename}"
    store.put_bytes(bucket, key, body, "text/csv")
    with connection() as conn:
        jobs.create_import_job(
            conn,
            job_id,
            entity=entity,
            owner_key_id=owner,
            status=jobs.JobStatus.AWAITING_UPLOAD,
            source_bucket=bucket,
            source_key=key,
            data={"chunk_size": chunk_size} if chunk_size else {},
        )
        jobs.attach_source(
            conn, job_id, bucket=bucket, key=key, etag=store.head(bucket, key).etag, size=len(body)
        )
    return PlanInput(job_id=job_id, bucket=bucket, key=key)


def plan_chunks(store: ObjectStore, job: PlanInput) -> list[dict[str, Any]]:
    """Plan → Count → Boundaries, as the state machine runs them: the Chunk map's items."""
    plan = invoke("plan", job.model_dump(mode="json"))
    ranges = store.get_json(plan["manifest_bucket"], plan["manifest_key"])
    counts = [invoke("count", item) for item in ranges]
    bounds = invoke("boundaries", {**plan, "counts": counts})
    items: list[dict[str, Any]] = store.get_json(bounds["manifest_bucket"], bounds["manifest_key"])
    return items


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common" / "python")])
    return env


def start_worker(spec: dict[str, Any], tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    """`tests/reliability/worker.py` in a new process (its own pool and S3 client)."""
    spec_file = tmp_path / f"spec-{uuid.uuid4().hex}.json"
    spec_file.write_text(json.dumps(spec))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", str(spec_file)],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_worker(process: subprocess.Popen[str], timeout: float) -> list[dict[str, Any]]:
    """Wait for the worker; its `{"result": …, "maxrss_kb": …}` lines, one per step."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "maxrss_kb" in line]  # not the JSON log lines


def wait_until(probe: Callable[[], T | None], seconds: float, what: str) -> T:
    """Poll `probe` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def query(url: str, statement: str, params: Any = None) -> list[dict[str, Any]]:
    """One autocommit query on a fresh connection (sees every commit, holds nothing)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(statement, params).fetchall()


def table_state(url: str) -> dict[str, list[dict[str, Any]]]:
    """Everything an import writes, comparable between two runs (no timestamps, no job ids)."""
    return {
        "contacts": query(url, f"SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY uuid"),
        "companies": query(url, f"SELECT {COMPANY_COLUMNS} FROM companies ORDER BY uuid"),
        "filters_data": query(
            url,
            "SELECT service, filter_key, value, display_value, count FROM filters_data "
            "ORDER BY service, filter_key, value",
        ),
        "row_errors": query(
            url, "SELECT line, column_name, message FROM job_row_errors ORDER BY line, column_name"
        ),
        "import_keys": query(url, "SELECT count(*) AS n FROM import_keys"),
    }


def job_counts(url: str, job_id: uuid.UUID | str) -> dict[str, Any]:
    rows = query(
        url,
        f"SELECT {', '.join(JOB_COUNTS)}, duplicate_rows FROM jobs WHERE uuid = %s",
        (job_id,),
    )
    assert rows, f"no job {job_id}"
    return rows[0]


def checksums(url: str) -> dict[str, str | None]:
    """md5 of every data table's rows in key order: equal before and after means untouched."""
    tables = {
        "contacts": "uuid",
        "companies": "uuid",
        "filters_data": "service, filter_key, value",
        "filters": "id",
        "jobs": "uuid",
        "search_outbox": "entity, record_uuid",
        "search_outbox_batches": "id",
    }
    return {
        table: query(
            url, f"SELECT md5(string_agg(t::text, '|' ORDER BY {order})) AS sum FROM {table} t"
        )[0]["sum"]
        for table, order in tables.items()
    }


def truncate_data(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE search_outbox, search_outbox_batches, job_row_errors, job_chunks, jobs, "
            "filters_data, contacts, companies, import_keys CASCADE"
        )
