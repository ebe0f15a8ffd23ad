"""Fuzz stage (issue 11 item 5): the CSV and NDJSON record parsers under hostile cells.

Whatever a cell holds (NUL, lone surrogates escaped in JSON, 100k characters, quotes,
separators, BOMs, control and bidi characters, huge numbers), a record becomes either a
row PostgreSQL can store (every text UTF-8 encodable, no NUL, array items within their
limit) or row errors naming a line; the parser never raises, and what it reports about
the file (unknown NDJSON keys) is storable too. Would have found D3 and D10.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.ingest.columns import ColumnMap
from connectra.ingest.parse import FileFormat, ParsedRow, RecordParser, RowError
from connectra.ingest.splitter import Record
from connectra.models.fields import Entity
from connectra.models.records import MAX_TAG_LENGTH

pytestmark = pytest.mark.fuzz

HOSTILE = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "x" * 100_000,
        "Sales;" + "y" * 3_000,
        "\ufeff",
        "\u202eevil",
        "\u200b",
        "=cmd|' /C calc'!A0",
        '"',
        '""',
        ",,,",
        "\r\n",
        "\n",
        "NULL",
        "\\",
        "1e999",
        "-0",
        "9" * 40,
        "a@b@c",
        "😀" * 300,
    ]
)
CELLS = st.one_of(st.text(max_size=60), HOSTILE)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTACT_HEADER = ("First Name", "Email", "Title", "Departments", "Company Website")
COMPANY_HEADER = ("Name", "Website", "Industries", "Employees", "Annual Revenue")


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, list):
        return all(_storable(item) and len(item) <= MAX_TAG_LENGTH for item in value)
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    return True


def _assert_outcome(outcome: ParsedRow | list[RowError], line: int) -> None:
    if isinstance(outcome, ParsedRow):
        assert _storable(outcome.row), outcome.row
        if outcome.company is not None:
            assert _storable(outcome.company)
        return
    assert outcome and all(isinstance(error, RowError) for error in outcome)
    for error in outcome:
        assert error.line == line
        assert _storable(error.message) and _storable(error.column)


def _csv_line(cells: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(
    entity=st.sampled_from([Entity.CONTACTS, Entity.COMPANIES]),
    cells=st.lists(CELLS, min_size=0, max_size=7),
)
def test_csv_records_with_hostile_cells_are_rows_or_row_errors(
    entity: Entity, cells: list[str]
) -> None:
    header = CONTACT_HEADER if entity is Entity.CONTACTS else COMPANY_HEADER
    parser = RecordParser(entity, FileFormat.CSV, ColumnMap.from_header(entity, header))
    _assert_outcome(parser.parse(Record(0, 2, _csv_line(cells))), 2)


@FUZZ
@given(data=st.binary(max_size=300))
def test_csv_records_of_arbitrary_bytes_are_rows_or_row_errors(data: bytes) -> None:
    parser = RecordParser(
        Entity.CONTACTS, FileFormat.CSV, ColumnMap.from_header(Entity.CONTACTS, CONTACT_HEADER)
    )
    _assert_outcome(parser.parse(Record(0, 5, data)), 5)


JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    CELLS,
    st.sampled_from(["\ud800", "x\udfff", "\udbff\udbff"]),  # lone surrogates
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(CELLS, children, max_size=3),
    max_leaves=10,
)
FIELD_KEYS = st.sampled_from(
    [
        "email",
        "first_name",
        "title",
        "departments",
        "company_website",
        "name",
        "website",
        "industries",
        "employees_count",
        "\ud800",
        "e\x00mail",
        "x" * 5_000,
    ]
)


@FUZZ
@given(
    entity=st.sampled_from([Entity.CONTACTS, Entity.COMPANIES]),
    document=st.dictionaries(FIELD_KEYS | st.text(max_size=20), JSON_VALUE, max_size=6),
)
def test_ndjson_records_with_hostile_values_are_rows_or_row_errors(
    entity: Entity, document: dict[str, Any]
) -> None:
    parser = RecordParser(entity, FileFormat.NDJSON)
    line = json.dumps(document).encode()  # ensure_ascii: surrogates travel as \\udXXX escapes
    _assert_outcome(parser.parse(Record(0, 3, line)), 3)
    assert all(_storable(key) for key in parser.unknown_columns)
