"""Combined contact-and-company rows, through the parallel chunked path (plan → count →
boundaries → chunks in 2 worker processes → finalize), on files shaped like each preset's
export: contacts linked to companies carrying their firmographics, vendor values
normalized, row errors with line numbers, companies counted apart, re-imports idempotent.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from connectra.ingest.events import ImportSummary, PlanInput
from connectra.local.pipeline import run_import
from connectra.storage.s3 import ObjectStore
from tests.reliability.helpers import upload_job

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendor"
CHUNK = 700  # bytes: every fixture file spans several chunks


def import_fixture(
    store: ObjectStore, name: str, *, preset: str | None, chunk_size: int = CHUNK
) -> tuple[PlanInput, ImportSummary]:
    job = upload_job(store, (FIXTURES / f"{name}.csv").read_bytes(), chunk_size=chunk_size)
    if preset:
        set_job_data(job.job_id, {"preset": preset})
    return job, run_import(job, workers=2)


def set_job_data(job_id: uuid.UUID, data: dict[str, Any]) -> None:
    """What the upload-url route stores for `preset=` / `mapping=` (job data keys)."""
    from psycopg.types.json import Jsonb

    from connectra.db.pool import connection

    with connection() as conn:
        conn.execute("UPDATE jobs SET data = data || %s WHERE uuid = %s", (Jsonb(data), job_id))


def contact(conn: Any, email: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT c.*, to_jsonb(co) AS company FROM contacts c "
        "LEFT JOIN companies co ON co.uuid = c.company_id WHERE c.email = %s",
        (email,),
    ).fetchone()
    assert row is not None, email
    return dict(row)


def test_an_apollo_export_imports_linked_contacts_and_companies_with_firmographics(
    server_store: ObjectStore, conn: Any
) -> None:
    job, summary = import_fixture(server_store, "apollo", preset="apollo")

    assert summary.chunks_total > 2
    assert (summary.status, summary.total, summary.inserted, summary.failed) == (
        "completed_with_errors",
        4,
        3,
        1,
    )
    assert (summary.companies_inserted, summary.companies_updated) == (2, 0)
    ada = contact(conn, "ada@analytical.example")
    assert (ada["seniority"], ada["email_status"], ada["departments"]) == (
        "vp",
        "verified",
        ["Engineering"],
    )
    assert ada["mobile_phone"] == "+1 555 0102"
    company = ada["company"]
    # Both rows name analytical.example: the file's last row wins.
    assert company["normalized_domain"] == "analytical.example"
    assert company["employees_count"] == 1001
    assert company["annual_revenue"] == 7_500_000
    assert company["total_funding"] == 2_000_000
    assert company["technologies"] == ["Python", "PostgreSQL", "Rust"]
    assert company["keywords"] == ["engines", "math"]
    assert company["industries"] == ["Computer Software"]
    assert company["linkedin_url"] == "https://www.linkedin.com/company/analytical"
    assert (company["address"], company["city"], company["phone"]) == (
        "1 Engine Way",
        "London",
        "+1 555 0199",  # Corporate Phone: the preset's first column for the company phone
    )
    charles = contact(conn, "charles@analytical.example")
    assert (charles["seniority"], charles["email_status"]) == ("director", "unavailable")
    assert charles["company_id"] == ada["company_id"]
    # A free-mail address says nothing about the employer: name + LinkedIn identify it.
    grace = contact(conn, "grace@gmail.com")
    assert grace["company"]["name"] == "Compilers Inc"
    assert grace["company"]["normalized_domain"] is None
    assert grace["seniority"] == "c_suite"
    errors = conn.execute(
        "SELECT line, column_name, message FROM job_row_errors WHERE job_id = %s "
        "ORDER BY line, column_name",
        (job.job_id,),
    ).fetchall()
    rows = [e for e in errors if e["line"] > 0]
    assert [(e["line"], e["column_name"]) for e in rows] == [(5, "Annual Revenue")]
    assert "not a number" in rows[0]["message"]
    # Columns no field takes are reported once each (line 0: the file's notices).
    notices = [e["column_name"] for e in errors if e["line"] == 0]
    assert "Apollo Contact Id" in notices and "Work Direct Phone" in notices
    assert len(notices) == len(set(notices))


@pytest.mark.parametrize(
    ("name", "email", "expected"),
    [
        (
            "zoominfo",
            "marie@radium.example",
            {
                "seniority": "director",
                "departments": ["Research & Development"],
                "company.normalized_domain": "radium.example",
                "company.annual_revenue": 12_500_000,
                "company.total_funding": 3_000_000,
                "company.employees_count": 240,
                "company.industries": ["Research"],
            },
        ),
        (
            "seamless",
            "rosalind@helix.example",
            {
                "seniority": "director",
                "company.name": "Helix Imaging",
                "company.annual_revenue": 25_000_000,
                "company.employees_count": 11,
                "company.industries": ["Biotechnology"],
            },
        ),
        (
            "hubspot",
            "katherine@orbit.example",
            {
                "title": "Mathematician",
                "mobile_phone": "+1 555 0301",
                "company.normalized_domain": "orbit.example",
                "company.industries": ["Aerospace", "Research"],
                "company.employees_count": 1200,
                "company.annual_revenue": 5_000_000,
            },
        ),
        (
            "salesforce",
            "margaret@apollo-guidance.example",
            {
                "city": "Cambridge",
                "departments": ["Engineering"],
                "company.name": "Apollo Guidance",
                "company.normalized_domain": "apollo-guidance.example",
                "company.employees_count": 350,
                "company.annual_revenue": 30_000_000,
            },
        ),
    ],
)
def test_each_preset_export_imports_with_its_company(
    server_store: ObjectStore, conn: Any, name: str, email: str, expected: dict[str, Any]
) -> None:
    _, summary = import_fixture(server_store, name, preset=name, chunk_size=400)

    assert summary.status == "completed", summary.error
    assert summary.failed == 0
    assert summary.companies_inserted >= 1
    row = contact(conn, email)
    for key, value in expected.items():
        found = row["company"][key.split(".", 1)[1]] if key.startswith("company.") else row[key]
        assert found == value, key


def test_reimporting_a_combined_file_changes_nothing(server_store: ObjectStore, conn: Any) -> None:
    import_fixture(server_store, "apollo", preset="apollo")
    before = conn.execute(
        "SELECT uuid, updated_at FROM companies UNION ALL SELECT uuid, updated_at FROM contacts "
        "ORDER BY uuid"
    ).fetchall()

    _, again = import_fixture(server_store, "apollo", preset="apollo", chunk_size=300)

    assert (again.inserted, again.updated, again.companies_inserted) == (0, 3, 0)
    assert again.companies_updated == 2
    after = conn.execute(
        "SELECT uuid, updated_at FROM companies UNION ALL SELECT uuid, updated_at FROM contacts "
        "ORDER BY uuid"
    ).fetchall()
    assert after == before
    assert conn.execute("SELECT count(*) AS n FROM import_company_keys").fetchone()["n"] == 0


def combined_file(contacts: int, companies: int, version: int) -> bytes:
    """Contacts spread over companies; each company's values name the row they came from,
    so the row that won is visible (the last in the file must)."""
    lines = ["Email,First Name,Company,Website,# Employees,Industry\n"]
    for index in range(contacts):
        company = (index * 7) % companies
        lines.append(
            f"p{index}@c{company}.example,P{index},Company {company},c{company}.example,"
            f"{index * 10 + version},Industry {index}\n"
        )
    return "".join(lines).encode()


def test_parallel_chunks_naming_the_same_companies_leave_the_last_row_of_each(
    server_store: ObjectStore, conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_BATCH_SIZE", "25")
    from connectra.settings import get_settings

    get_settings.cache_clear()
    body = combined_file(contacts=600, companies=40, version=3)

    summary = run_import(upload_job(server_store, body, chunk_size=2048), workers=2)

    assert summary.status == "completed", summary.error
    assert summary.chunks_total > 8
    assert (summary.inserted, summary.companies_inserted, summary.companies_updated) == (
        600,
        40,
        0,
    )
    companies = conn.execute(
        "SELECT normalized_domain, employees_count, industries FROM companies"
    ).fetchall()
    assert len(companies) == 40
    last_row = {(i * 7) % 40: i for i in range(600)}  # company → its last row
    for company in companies:
        number = int(company["normalized_domain"].split(".")[0][1:])
        row = last_row[number]
        assert company["employees_count"] == row * 10 + 3
        assert company["industries"] == [f"Industry {row}"]
    linked = conn.execute(
        "SELECT count(*) AS n FROM contacts c JOIN companies co ON co.uuid = c.company_id "
        "WHERE split_part(c.email, '@', 2) = co.normalized_domain"
    ).fetchone()
    assert linked["n"] == 600
