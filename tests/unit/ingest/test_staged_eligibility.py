"""Which records the SQL path may COPY: those PostgreSQL's CSV parser and Python's split the
same way (ingest/staged.py `is_sql_eligible`)."""

from __future__ import annotations

import csv

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from connectra.ingest.columns import ColumnMap
from connectra.ingest.parse import parse_csv_fields
from connectra.ingest.splitter import Record
from connectra.ingest.staged import RawBatch, is_sql_eligible, supports
from connectra.models.fields import Entity


def record(data: bytes) -> Record:
    return Record(offset=10, line=3, data=data)


@pytest.mark.parametrize(
    ("data", "eligible"),
    [
        (b"Ada,Lovelace,ada@x.io", True),
        (b'"Smith, Jr",Bob,"say ""hi"""', True),
        (b'"",x,', True),
        (b'"a"b,c', False),  # PostgreSQL reads `ab`, Python refuses the quoting
        (b'a"b,c', False),  # a quote inside an unquoted field
        (b'"unclosed,x', False),
        (b'"multi\nline",x', False),  # line numbers of such records stay Python's
        (b"carriage\rreturn", False),
    ],
)
def test_eligible_records(data: bytes, eligible: bool) -> None:
    assert is_sql_eligible(record(data)) is eligible


def test_oversized_records_are_never_eligible() -> None:
    assert not is_sql_eligible(Record(0, 1, b"abc", error="record longer than 3 bytes"))


_cells = st.text(alphabet=st.sampled_from(list("ab ,\"'x")), max_size=6)


@given(st.lists(_cells, min_size=1, max_size=5))
def test_an_eligible_record_splits_like_the_csv_module(cells: list[str]) -> None:
    line = ",".join(
        f'"{cell.replace(chr(34), chr(34) * 2)}"' if '"' in cell or "," in cell else cell
        for cell in cells
    )
    assume(line.strip())  # blank records never reach a parser (the splitter skips them)
    data = line.encode()
    assert is_sql_eligible(record(data))
    assert parse_csv_fields(line) == cells == next(csv.reader([line], strict=True))


def test_the_copy_line_carries_line_and_offset() -> None:
    batch = RawBatch()
    batch.add(record(b"a,b"))
    batch.add(Record(offset=20, line=4, data=b'"x\ny",z'))
    assert batch.lines == [b"3,10,a,b\n"]
    assert batch.ineligible == [20]
    assert [r.line for r in batch.take([20, 10])] == [3, 4]


def test_csv_without_python_only_normalizers_is_supported() -> None:
    plain = ColumnMap.from_header(Entity.CONTACTS, ["email", "first_name"])
    with_reference = ColumnMap.from_header(Entity.CONTACTS, ["email", "Company Name"])
    vocabulary = ColumnMap.from_header(Entity.CONTACTS, ["email", "Department"])
    companies = ColumnMap.from_header(
        Entity.COMPANIES, ["name", "domain", "Industry", "# Employees", "annual_revenue"]
    )
    assert supports(Entity.CONTACTS, plain)
    assert supports(Entity.CONTACTS, with_reference)  # combined rows: staged_combined.py
    assert not supports(Entity.CONTACTS, vocabulary)  # vendor vocabularies: Python's
    assert supports(Entity.COMPANIES, companies)  # amounts and vendor lists: SQL's
    assert not supports(Entity.CONTACTS, None)
    wide = ColumnMap.from_header(Entity.CONTACTS, ["email", *(f"extra{i}" for i in range(1600))])
    assert not supports(Entity.CONTACTS, wide)  # more columns than a PostgreSQL table holds
