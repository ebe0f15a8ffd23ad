"""Fixtures of the export tests: moto S3 (in process), the real test database, and fast
synthetic contacts generated inside PostgreSQL (generate_series: 200k rows in seconds)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from connectra.settings import get_settings
from tests.conftest import DATA_TABLES, mocked_s3

BUCKET = "connectra-test-export"

# Some cells start like spreadsheet formulas, some need CSV quoting (comma, quote, newline).
TITLES = (
    "Software Engineer",
    '=HYPERLINK("http://evil.example","x")',
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    'VP, Sales "EMEA"',
    "Head of\nData",
)


def insert_companies(conn: Any, count: int) -> None:
    conn.execute(
        """
        INSERT INTO companies (uuid, name, normalized_domain, website, industries,
                               employees_count, city, country)
        SELECT md5('company-' || i)::uuid, 'Company ' || i, 'company' || i || '.example',
               'https://company' || i || '.example', ARRAY['software', 'industry ' || (i %% 7)],
               (i * 37) %% 5000, 'City ' || (i %% 50), 'country ' || (i %% 9)
        FROM generate_series(1, %s) AS i
        """,
        (count,),
    )


def insert_contacts(conn: Any, count: int, companies: int = 100, wide: int = 0) -> None:
    """`count` valid, importable contacts; created_at = 2024-01-01 + i seconds; `wide`
    pads each city to make big files from few rows."""
    conn.execute(
        """
        INSERT INTO contacts (uuid, first_name, last_name, email, title, seniority,
                              departments, mobile_phone, email_status, linkedin_url, city,
                              state, country, company_id, created_at, updated_at)
        SELECT md5('contact-' || i)::uuid, 'First' || i, 'Last ' || (i %% 997),
               'person' || i || '@mail' || (i %% 13) || '.example',
               (%(titles)s::text[])[1 + i %% cardinality(%(titles)s::text[])],
               (ARRAY['senior', 'lead', 'entry', NULL])[1 + i %% 4],
               CASE WHEN i %% 5 = 0 THEN '{}'::text[]
                    ELSE ARRAY['engineering', 'dept ' || (i %% 11)] END,
               '+1-555-' || lpad((i %% 10000)::text, 4, '0'), 'verified',
               'https://www.linkedin.com/in/person-' || i,
               'City ' || (i %% 50) || repeat('x', %(wide)s),
               NULL, 'country ' || (i %% 9),
               CASE WHEN %(companies)s > 0 AND i %% 4 <> 0
                    THEN md5('company-' || (1 + i %% %(companies)s))::uuid END,
               timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
               timestamptz '2024-06-01 00:00:00+00'
        FROM generate_series(1, %(count)s) AS i
        """,
        {"titles": list(TITLES), "count": count, "companies": companies, "wide": wide},
    )


@pytest.fixture
def bulk_db(clean_db: str) -> Iterator[str]:
    """The test database without the search indexes of migration 0002 (`vql_*`) while the
    test runs: loading 200k rows then takes seconds, not minutes on this 2-core machine.
    Export and import need none of them (the export orders by the primary key). The
    indexes are rebuilt afterwards on emptied tables, which is instant."""
    with psycopg.connect(clean_db, autocommit=True) as admin:
        indexes = admin.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'vql\\_%'"
        ).fetchall()
        for name, _ in indexes:
            admin.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    try:
        yield clean_db
    finally:
        with psycopg.connect(clean_db, autocommit=True) as admin:
            admin.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
            for _, definition in indexes:
                admin.execute(definition)


@pytest.fixture
def s3(clean_db: str) -> Iterator[Any]:
    """A mocked S3 with the product bucket; settings and the store cache point to it."""
    with mocked_s3(BUCKET) as client:
        yield client


@pytest.fixture
def override_settings(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set environment variables for one test and re-read the settings."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


def read_object(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def csv_records(data: bytes, compressed: bool = False) -> list[list[str]]:
    text = (gzip.decompress(data) if compressed else data).decode()
    return list(csv.reader(io.StringIO(text)))
