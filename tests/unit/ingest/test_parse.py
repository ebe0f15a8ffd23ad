"""Header mapping and record parsing: valid rows, and row errors naming line and column."""

from __future__ import annotations

from connectra.ingest.columns import ColumnMap, normalize_header
from connectra.ingest.parse import FileFormat, ParsedRow, RecordParser, RowError, detect_format
from connectra.ingest.splitter import Record
from connectra.models.fields import Entity
from connectra.models.identity import company_uuid, contact_uuid


def contacts_parser(*header: str) -> RecordParser:
    return RecordParser(
        Entity.CONTACTS, FileFormat.CSV, ColumnMap.from_header(Entity.CONTACTS, header)
    )


def test_headers_map_case_insensitively_with_aliases() -> None:
    columns = ColumnMap.from_header(
        Entity.CONTACTS,
        ["\ufeffFirst Name", "LAST_NAME", "E-mail", "Job Title", "Shoe Size", "email"],
    )
    assert columns.fields == ("first_name", "last_name", "email", "title", None, None)
    assert columns.ignored == ("Shoe Size", "email")
    assert normalize_header("# Employees") == "employees"


def test_a_valid_record_becomes_a_row_with_its_deterministic_uuid() -> None:
    parser = contacts_parser("First Name", "Email", "Departments")
    parsed = parser.parse(Record(40, 3, b'Ada,ADA@Example.com,"Eng; Sales"'))
    assert isinstance(parsed, ParsedRow)
    assert (parsed.line, parsed.offset) == (3, 40)
    assert parsed.row["email"] == "ada@example.com"
    assert parsed.row["departments"] == ["Eng", "Sales"]
    assert parsed.row["uuid"] == contact_uuid("ada@example.com", None, None, None)


def test_model_errors_name_the_files_column() -> None:
    parser = contacts_parser("First Name", "E-mail")
    errors = parser.parse(Record(0, 7, b"Ada,not-an-email"))
    assert errors == [RowError(7, "E-mail", "not a valid email address", "Ada,not-an-email")]


def test_undecodable_utf8_is_a_row_error() -> None:
    errors = contacts_parser("email").parse(Record(0, 2, b"caf\xe9@example.com"))
    assert isinstance(errors, list) and errors[0].line == 2
    assert "not valid UTF-8" in errors[0].message


def test_wrong_field_count_and_bad_quoting_are_row_errors() -> None:
    parser = contacts_parser("first_name", "email")
    short = parser.parse(Record(0, 4, b"only-one"))
    quoted = parser.parse(Record(0, 5, b'"Ada"x,a@b.co'))
    trailing_empty = parser.parse(Record(0, 6, b"Ada,a@b.co,,"))
    assert isinstance(short, list) and "has 1 fields, the header has 2" in short[0].message
    assert isinstance(quoted, list) and "malformed CSV quoting" in quoted[0].message
    assert isinstance(trailing_empty, ParsedRow)


def test_company_reference_columns_link_the_contact_to_a_company() -> None:
    parser = contacts_parser("email", "Company Name", "Company Website")
    parsed = parser.parse(Record(0, 2, b"a@b.co,Acme,https://www.acme.io/about"))
    assert isinstance(parsed, ParsedRow) and parsed.company is not None
    assert parsed.company.values["normalized_domain"] == "acme.io"
    assert parsed.row["company_id"] == company_uuid("acme.io", None, None)


def test_ndjson_records_use_the_same_mapping_and_report_unknown_keys() -> None:
    parser = RecordParser(Entity.COMPANIES, FileFormat.NDJSON)
    parsed = parser.parse(Record(0, 1, b'{"Company Name": "Acme", "domain": "acme.io", "mood": 1}'))
    bad = parser.parse(Record(9, 2, b"[1, 2]"))
    assert isinstance(parsed, ParsedRow) and parsed.row["name"] == "Acme"
    assert parser.unknown_columns == {"mood"}
    assert isinstance(bad, list) and bad[0].message == "a line must be a JSON object"


def test_format_is_detected_by_extension_then_content() -> None:
    assert detect_format("x.jsonl", b"") is FileFormat.NDJSON
    assert detect_format("x.csv", b"{") is FileFormat.CSV
    assert detect_format("x", b'\xef\xbb\xbf {"a":1}') is FileFormat.NDJSON


def test_the_exporters_formula_escape_is_undone_once_and_only_before_formula_starts() -> None:
    parser = contacts_parser("First Name", "Email", "Title", "Departments")
    cells = b'\'=SUM(A1),a@example.com,"\'-1, +2","\'@team; ops"'
    parsed = parser.parse(Record(0, 2, cells))
    assert isinstance(parsed, ParsedRow)
    assert parsed.row["first_name"] == "=SUM(A1)"
    assert parsed.row["title"] == "-1, +2"
    assert parsed.row["departments"] == ["@team", "ops"]
    kept = parser.parse(Record(0, 3, b"'Ada',b@example.com,'',''=x"))
    assert isinstance(kept, ParsedRow)
    assert (kept.row["first_name"], kept.row["title"]) == ("'Ada'", "''")
    assert kept.row["departments"] == ["''=x"]


def test_a_quoted_field_over_128_kib_reaches_the_length_rule_of_its_column() -> None:
    parser = contacts_parser("First Name", "Email", "Title")
    text = b'Ada,a@example.com,"' + b"x, y\n" * 40_000 + b'"'
    errors = parser.parse(Record(0, 4, text))
    assert isinstance(errors, list) and [error.column for error in errors] == ["Title"]
    assert "at most 500 characters" in errors[0].message


def test_a_record_the_splitter_could_not_read_whole_is_one_row_error() -> None:
    parser = contacts_parser("First Name", "Email")
    errors = parser.parse(Record(10, 2, b'Open,"never closed', "record longer than 16 bytes"))
    assert errors == [RowError(2, "", "record longer than 16 bytes", 'Open,"never closed')]
