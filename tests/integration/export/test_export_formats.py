"""Export files: header, every row once, CSV quoting, formula neutralizing, gzip, NDJSON."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest

from connectra.errors import ValidationFailed
from connectra.export.job import write_export
from connectra.export.request import ExportFormat, ExportRequest
from tests.integration.export.conftest import (
    csv_records,
    insert_companies,
    insert_contacts,
    read_object,
)

COLUMNS = ["uuid", "first_name", "email", "title", "departments", "mobile_phone", "company_name"]


@pytest.fixture
def contacts(s3: Any, conn: Any) -> int:
    insert_companies(conn, 20)
    insert_contacts(conn, 2_345, companies=20)
    conn.commit()
    return 2_345


def _export(**fields: Any) -> tuple[Any, str]:
    request = ExportRequest(**{"entity": "contacts", **fields})
    summary = write_export(uuid.uuid4(), request)
    assert summary.export_key is not None
    return summary, summary.export_key


def test_csv_has_the_requested_header_and_every_row_once_in_uuid_order(
    contacts: int, s3: Any, conn: Any, override_settings: Any
) -> None:
    override_settings(export_page_rows=500)  # several keyset pages

    summary, key = _export(columns=COLUMNS)

    records = csv_records(read_object(s3, key))
    assert records[0] == COLUMNS
    ids = [row[0] for row in records[1:]]
    assert summary.rows == len(ids) == contacts
    assert ids == sorted(ids) and len(set(ids)) == contacts
    expected = conn.execute(
        "SELECT c.uuid::text AS uuid, c.first_name, c.email, c.title, c.departments, "
        "c.mobile_phone, co.name AS company_name FROM contacts c "
        "LEFT JOIN companies co ON co.uuid = c.company_id ORDER BY c.uuid"
    ).fetchall()
    first = dict(zip(COLUMNS, records[1], strict=True))
    row = expected[0]
    assert first["first_name"] == row["first_name"]
    assert first["departments"] == "; ".join(row["departments"])
    assert first["company_name"] == (row["company_name"] or "")
    multiline = [r for r in records[1:] if "\n" in r[3]]
    assert multiline and all(r[3] == "Head of\nData" for r in multiline)


def test_formula_cells_are_neutralized_with_a_leading_quote(contacts: int, s3: Any) -> None:
    _, key = _export(columns=["uuid", "title", "mobile_phone"])

    titles = {row[1] for row in csv_records(read_object(s3, key))[1:]}
    phones = {row[2] for row in csv_records(read_object(s3, key))[1:]}

    assert '\'=HYPERLINK("http://evil.example","x")' in titles
    assert {"'+SUM(A1:A9)", "'-2+3", "'@cmd", 'VP, Sales "EMEA"'} <= titles
    assert not any(title.startswith(("=", "+", "-", "@")) for title in titles)
    assert all(phone.startswith("'+1-555-") for phone in phones)


def test_formula_escape_can_be_turned_off_for_machine_reimport(contacts: int, s3: Any) -> None:
    _, key = _export(columns=["title"], formula_escape=False)

    titles = {row[0] for row in csv_records(read_object(s3, key))[1:]}

    assert "+SUM(A1:A9)" in titles and "'+SUM(A1:A9)" not in titles


def test_gzip_output_is_a_valid_gzip_of_the_same_csv(contacts: int, s3: Any) -> None:
    _, plain_key = _export(columns=COLUMNS)
    summary, gzip_key = _export(columns=COLUMNS, gzip=True)

    compressed = read_object(s3, gzip_key)

    assert gzip_key.endswith(".csv.gz") and compressed[:2] == b"\x1f\x8b"
    assert gzip.decompress(compressed) == read_object(s3, plain_key)
    assert summary.bytes == len(compressed)


def test_ndjson_keeps_types_and_company_columns(contacts: int, s3: Any, conn: Any) -> None:
    summary, key = _export(
        columns=["uuid", "departments", "created_at", "company_employees_count"],
        format=ExportFormat.NDJSON,
    )

    lines = read_object(s3, key).decode().splitlines()
    documents = [json.loads(line) for line in lines]
    assert key.endswith(".ndjson") and summary.rows == len(documents) == contacts
    by_id = {doc["uuid"]: doc for doc in documents}
    row = conn.execute(
        "SELECT c.uuid::text AS uuid, c.departments, co.employees_count FROM contacts c "
        "JOIN companies co ON co.uuid = c.company_id ORDER BY c.uuid LIMIT 1"
    ).fetchone()
    assert by_id[row["uuid"]]["departments"] == row["departments"]
    assert by_id[row["uuid"]]["company_employees_count"] == row["employees_count"]
    assert by_id[row["uuid"]]["created_at"].startswith("2024-")


def test_the_vql_filter_and_order_select_the_rows(contacts: int, s3: Any, conn: Any) -> None:
    vql = {
        "where": {"keyword_match": {"must": {"seniority": "lead"}}},
        "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
        "limit": 5,  # paging keys of a search are ignored: an export holds every row
    }
    summary, key = _export(columns=["uuid", "created_at"], vql=vql)

    exported = [row[0] for row in csv_records(read_object(s3, key))[1:]]
    expected = [
        str(r["uuid"])
        for r in conn.execute(
            "SELECT uuid FROM contacts WHERE seniority = 'lead' ORDER BY created_at DESC, uuid DESC"
        ).fetchall()
    ]
    assert summary.parts == 1  # an explicit order is kept: no parallel uuid ranges
    assert exported == expected and len(expected) > 500


def test_unknown_columns_and_bad_vql_name_their_path(s3: Any) -> None:
    with pytest.raises(ValidationFailed) as bad_column:
        _export(columns=["uuid", "salary"])
    with pytest.raises(ValidationFailed) as bad_vql:
        _export(vql={"where": {"keyword_match": {"must": {"nope": "x"}}}})

    assert bad_column.value.details[0]["path"] == "columns[1]"
    assert bad_vql.value.details[0]["path"] == "vql.where.keyword_match.must.nope"
