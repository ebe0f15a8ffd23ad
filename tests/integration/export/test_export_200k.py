"""Acceptance: a 200k-row export round-trips through the import pipeline to the same rows,
and the export's peak memory does not grow with the number of rows.

The exports run in a subprocess against a moto S3 server (another process), so their
memory can be measured alone: 50k rows, then 200k rows. The 200k file is then imported by
the ingest pipeline into the emptied table and compared with the original rows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from connectra.db.pool import close_pool, connection
from connectra.ingest.events import PlanInput
from connectra.jobs import repository as jobs
from connectra.local.pipeline import run_import
from connectra.models.fields import WRITABLE_COLUMNS, Entity
from connectra.settings import get_settings
from connectra.storage.s3 import get_store
from tests.integration.export.conftest import BUCKET, insert_companies, insert_contacts

ROWS = 200_000
COMPARED = ", ".join(("uuid", *WRITABLE_COLUMNS[Entity.CONTACTS]))
MEMORY_GROWTH_MARGIN_MIB = 16
IMPORT_CHUNK_BYTES = 12 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 server in its own process; this process's store points to it too."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("S3_ENDPOINT_URL", url)
        monkeypatch.setenv("S3_BUCKET", BUCKET)
        get_settings.cache_clear()
        get_store.cache_clear()
        close_pool()
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)
        get_settings.cache_clear()
        get_store.cache_clear()


def _export_in_subprocess(database_url: str, rows: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EXPORT_ROWS_PER_PART": str(10 * ROWS),  # one part: the streaming path alone
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("export_rss.py")), str(rows)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _import(client: Any, export_key: str) -> Any:
    job_id = uuid.uuid4()
    key = f"uploads/contacts/{job_id}/export.csv"
    client.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": export_key})
    with connection() as conn:
        jobs.create_import_job(
            conn,
            job_id,
            entity="contacts",
            owner_key_id="dev",
            status=jobs.JobStatus.IN_QUEUE,
            source_bucket=BUCKET,
            source_key=key,
            data={"chunk_size": IMPORT_CHUNK_BYTES},
        )
    # Worker processes: S3 is a server here, so they see the same objects as this process.
    return run_import(PlanInput(job_id=job_id, bucket=BUCKET, key=key), workers=2)


def _difference(conn: Any, left: str, right: str) -> int:
    query = f"SELECT count(*) AS n FROM (SELECT {COMPARED} FROM {left} EXCEPT SELECT {COMPARED} FROM {right}) AS d"  # noqa: E501
    return int(conn.execute(query).fetchone()["n"])


@pytest.mark.slow
def test_a_200k_export_round_trips_through_import_in_bounded_memory(
    bulk_db: str, conn: Any, moto_server: Any
) -> None:
    insert_companies(conn, 100)
    insert_contacts(conn, ROWS, companies=100)
    conn.execute(f"CREATE TEMP TABLE before AS SELECT {COMPARED} FROM contacts")
    conn.commit()

    small = _export_in_subprocess(bulk_db, 50_000)
    large = _export_in_subprocess(bulk_db, ROWS)

    print(f"\nexport memory (MiB): 50k rows {small}\n                     200k rows {large}")
    assert (small["rows"], large["rows"]) == (50_000, ROWS)
    assert large["bytes"] > 3.5 * small["bytes"]  # four times the data went through…
    small_growth = small["peak_rss_mib"] - small["baseline_rss_mib"]
    large_growth = large["peak_rss_mib"] - large["baseline_rss_mib"]
    assert large_growth - small_growth < MEMORY_GROWTH_MARGIN_MIB, (small, large)  # …same memory

    conn.execute("TRUNCATE contacts")
    conn.commit()
    summary = _import(moto_server, large["export_key"])

    assert summary.status == "completed", summary
    assert (summary.total, summary.inserted, summary.failed) == (ROWS, ROWS, 0)
    assert (_difference(conn, "before", "contacts"), _difference(conn, "contacts", "before")) == (
        0,
        0,
    )
    multiline = conn.execute(
        "SELECT count(*) AS n FROM contacts WHERE title = 'Head of' || chr(10) || 'Data'"
    ).fetchone()["n"]
    assert multiline == ROWS // 7  # quoted newlines survived the chunked import
