"""Fixtures of the job tests: the ingest tests' moto S3 and upload helper, plus helpers to
put a job in a given state."""

from __future__ import annotations

import io
from typing import Any

from connectra.local.sample import COMPANY_COLUMNS, company_rows, write_csv
from tests.integration.ingest.conftest import s3, store, upload_job

__all__ = ["companies_csv", "s3", "store", "upload_job"]


def companies_csv(count: int) -> bytes:
    buffer = io.StringIO()
    write_csv(buffer, company_rows(count), COMPANY_COLUMNS)
    return buffer.getvalue().encode()


def job_row(conn: Any, job_id: Any) -> dict[str, Any]:
    row: dict[str, Any] = conn.execute("SELECT * FROM jobs WHERE uuid = %s", (job_id,)).fetchone()
    conn.commit()
    return row
