"""The whole import, plan → count → boundaries → chunks → finalize, on a real database."""

from __future__ import annotations

import io
from typing import Any

from connectra.local.pipeline import run_import
from connectra.local.sample import (
    COMPANY_COLUMNS,
    CONTACT_COLUMNS,
    company_rows,
    contact_rows,
    write_csv,
)
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import upload_job


def csv_bytes(rows: Any, columns: Any) -> bytes:
    buffer = io.StringIO()
    write_csv(buffer, rows, columns)
    return buffer.getvalue().encode()


def test_generated_files_load_over_several_chunks(store: ObjectStore, conn: Any) -> None:
    companies = company_rows(40)
    companies_job = upload_job(
        store, csv_bytes(companies, COMPANY_COLUMNS), entity="companies", chunk_size=2048
    )
    contacts_job = upload_job(
        store, csv_bytes(contact_rows(300, companies), CONTACT_COLUMNS), chunk_size=4096
    )

    company_summary = run_import(companies_job, workers=1)
    contact_summary = run_import(contacts_job, workers=1)

    assert company_summary.status == "completed", company_summary
    assert company_summary.chunks_total > 1
    assert (company_summary.total, company_summary.inserted, company_summary.failed) == (40, 40, 0)
    assert contact_summary.status == "completed", contact_summary
    assert contact_summary.chunks_total > 5
    assert (contact_summary.total, contact_summary.inserted) == (300, 300)
    assert conn.execute("SELECT count(*) AS n FROM contacts").fetchone()["n"] == 300
