"""Which NDJSON lines the SQL path may COPY, and which keys it takes from the parser
(ingest/staged_ndjson.py)."""

from __future__ import annotations

import pytest

from connectra.ingest.parse import FileFormat, RecordParser, RowError
from connectra.ingest.splitter import Record
from connectra.ingest.staged import RawBatch
from connectra.ingest.staged_ndjson import MAX_BRACKETS, NdjsonCells, ndjson_copy_line
from connectra.models.fields import Entity


def record(data: bytes, offset: int = 10, line: int = 3) -> Record:
    return Record(offset=offset, line=line, data=data)


@pytest.mark.parametrize(
    ("data", "eligible"),
    [
        (b'{"email": "a@x.io", "n": 1, "tags": ["x"], "o": {"k": null}}', True),
        (b'{"city": "S\xc3\xa3o Paulo", "t": "tab\\t"}', True),
        (b'{"email": "a@x.io"}\r', True),  # JSON whitespace, both parsers skip it
        (b"not json at all", True),  # PostgreSQL refuses it: flagged, Python reports it
        (b'{"email": "a\x00@x.io"}', False),  # NUL: COPY would refuse the batch
        (b'{"email": "a\x01@x.io"}', False),  # the COPY format's quote
        (b'{"email": "a\x02@x.io"}', False),  # the COPY format's delimiter
        (b'{"city": "S\xff"}', False),  # not UTF-8: COPY would refuse the batch
        (b'{"n": ' + b"[" * MAX_BRACKETS + b"]" * MAX_BRACKETS + b"}", False),
        (b'{"n": ' + b"7" * 4301 + b"}", False),  # Python's int conversion refuses it
        (b'{"n": ' + b"7" * 4300 + b"}", True),
    ],
)
def test_eligible_lines(data: bytes, eligible: bool) -> None:
    assert (ndjson_copy_line(record(data)) is not None) is eligible


def test_the_copy_line_is_quoted_and_delimited_by_bytes_json_never_holds_raw() -> None:
    batch = RawBatch(encode=ndjson_copy_line)
    batch.add(record(b'{"a": "x,\\"y\\""}'))
    batch.add(Record(offset=30, line=4, data=b"", error="record longer than 3 bytes"))
    assert batch.lines == [b'3\x0210\x02\x01{"a": "x,\\"y\\""}\x01\n']
    assert batch.ineligible == [30]


def _prepared(*lines: bytes) -> tuple[NdjsonCells, RecordParser]:
    parser = RecordParser(Entity.CONTACTS, FileFormat.NDJSON)
    cells = NdjsonCells(parser)
    batch = RawBatch(encode=cells.encode)
    for index, data in enumerate(lines):
        batch.add(record(data, offset=index * 100, line=index + 1))
    cells.prepare(batch)
    return cells, parser


def test_the_first_line_of_a_batch_is_parsed_ahead_to_meet_its_keys() -> None:
    cells, parser = _prepared(
        b'{"email": "a@x.io", "First Name": "Ada", "notes": 1, "company": "Acme"}',
        b'{"email": "b@x.io", "city": "Paris"}',
    )
    assert list(parser.key_fields) == ["email", "First Name", "notes", "company"]
    assert parser.unknown_columns == {"notes"}
    # The company key (combined rows) stays Python's; `city` is not met yet.
    assert cells.cell("first_name") == "nullif(r.k1, '')"
    assert cells.cell("city") == "NULL::text"
    assert "r.known" in cells.checks()


def test_a_field_normalized_from_a_vendor_key_is_left_to_python() -> None:
    cells, parser = _prepared(b'{"email": "a@x.io", "email_status": "valid"}')
    assert cells.cell("email_status") == "nullif(r.k1, '')"
    assert any("new_keys" in check for check in cells.checks())  # watched: normalizable
    revision = cells.revision
    parser.parse(record(b'{"email_verification_status": "Verified", "email": "b@x.io"}'))
    cells.prepare(RawBatch(records={0: record(b'{"email": "c@x.io"}', offset=0)}))
    assert parser.key_normalizer("email_status") is not None
    assert cells.cell("email_status") == "NULL::text"
    assert cells.revision == revision + 1  # statements built from the cells are rebuilt


def test_a_field_fed_by_two_keys_takes_their_one_non_empty_value() -> None:
    cells, _ = _prepared(b'{"email": "a@x.io", "Work Email": ""}')
    assert cells.cell("email") == "coalesce(nullif(r.k0, ''), nullif(r.k1, ''))"
    assert "num_nonnulls(nullif(r.k0, ''), nullif(r.k1, '')) <= 1" in cells.checks()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"email": "a@x.io", "n": ' + b"1" * 5000 + b"}", "a number has too many digits"),
        (
            b'{"email": "a@x.io", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "nested too deeply",
        ),
    ],
)
def test_json_python_cannot_hold_is_a_row_error_not_a_failed_chunk(
    data: bytes, message: str
) -> None:
    parsed = RecordParser(Entity.CONTACTS, FileFormat.NDJSON).parse(record(data))
    assert isinstance(parsed, list)
    assert parsed[0] == RowError(3, "", f"not valid JSON: {message}", data.decode()[:1000])
