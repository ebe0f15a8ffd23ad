"""Hostile CSV files: each gives clear row or job errors, no crash, and the good rows load.

Field limits are the record models' (models/records.py): text fields hold at most 500
characters, so a 10 MB field is a row error naming its column, and the error report keeps
at most `RAW_MAX_CHARS` of the record.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from connectra.ingest.events import ImportSummary
from connectra.ingest.parse import RAW_MAX_CHARS
from connectra.local.pipeline import run_import
from connectra.storage.s3 import ObjectStore
from tests.integration.ingest.conftest import BUCKET, upload_job

HEADER = b"First Name,Email,Title\n"


def good(start: int, count: int) -> bytes:
    return b"".join(b"P%d,p%d@example.com,Engineer\n" % (i, i) for i in range(start, start + count))


def import_file(store: ObjectStore, body: bytes, chunk_size: int = 4096) -> ImportSummary:
    return run_import(upload_job(store, body, chunk_size=chunk_size), workers=1)


def report(s3: Any, summary: ImportSummary) -> list[dict[str, str]]:
    assert summary.error_report_key
    text = s3.get_object(Bucket=BUCKET, Key=summary.error_report_key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(text)))


def emails(conn: Any) -> set[str]:
    rows = conn.execute("SELECT email FROM contacts").fetchall()
    conn.commit()
    return {row["email"] for row in rows}


def test_invalid_utf8_bytes_fail_only_their_row(store: ObjectStore, conn: Any, s3: Any) -> None:
    # Given a row with bytes that are not UTF-8 between good rows (a Latin-1 "é", a lone 0xFF)
    body = HEADER + good(0, 20) + b"Ren\xe9,bad@example.com,Chef \xff\n" + good(20, 20)

    # When the file is imported
    summary = import_file(store, body, chunk_size=512)

    # Then that row is one clear error on its line and every other row loads
    assert (summary.status, summary.total, summary.inserted, summary.failed) == (
        "completed_with_errors",
        41,
        40,
        1,
    )
    [error] = report(s3, summary)
    assert error["line"] == "22"
    assert "not valid UTF-8 (byte 0xe9" in error["message"]
    assert "bad@example.com" not in emails(conn)
    assert len(emails(conn)) == 40


def test_nul_bytes_fail_only_their_row(store: ObjectStore, conn: Any, s3: Any) -> None:
    body = HEADER + good(0, 10) + b"Nul\x00,nul@example.com,X\x00Y\n" + good(10, 10)

    summary = import_file(store, body)

    assert (summary.status, summary.inserted, summary.failed) == ("completed_with_errors", 20, 1)
    [error] = report(s3, summary)
    assert (error["line"], error["message"]) == ("12", "contains a NUL character")
    assert "\x00" not in error["raw"]


def ten_mb_field_file(field: bytes) -> bytes:
    return HEADER + good(0, 5) + b"Big,big@example.com," + field + b"\n" + good(5, 5)


def assert_title_too_long(summary: ImportSummary, s3: Any, conn: Any) -> None:
    assert (summary.total, summary.inserted, summary.failed) == (11, 10, 1)
    [error] = report(s3, summary)
    assert (error["line"], error["column"]) == ("7", "Title")
    assert "at most 500 characters" in error["message"]
    assert len(error["raw"]) <= RAW_MAX_CHARS
    assert "big@example.com" not in emails(conn)


def test_a_10_mb_field_is_a_row_error_naming_its_column(
    store: ObjectStore, conn: Any, s3: Any
) -> None:
    # Given a 10 MB unquoted title between good rows
    body = ten_mb_field_file(b"x" * (10 * 1024 * 1024))

    summary = import_file(store, body, chunk_size=1024 * 1024)

    # Then the row fails on Title with the length limit; the report keeps a bounded excerpt
    assert_title_too_long(summary, s3, conn)


def test_a_10_mb_quoted_field_is_a_length_error_not_a_quoting_error(
    store: ObjectStore, conn: Any, s3: Any
) -> None:
    # Given a 10 MB title, quoted (it holds commas and newlines, which is valid CSV)
    body = ten_mb_field_file(b'"' + (b"x" * 1000 + b", y\n") * 10_000 + b'"')

    summary = import_file(store, body, chunk_size=1024 * 1024)

    # Then it is the same clear length error on Title, not a claim of broken quoting
    assert_title_too_long(summary, s3, conn)


def test_10000_columns_load_and_unknown_columns_are_reported_once(
    store: ObjectStore, conn: Any, s3: Any
) -> None:
    # Given a header of 10,000 columns (3 known) and rows of 10,000 fields,
    # and one row of 10,000 fields under a 3-column header in another file
    extra = [f"extra_{i}" for i in range(9_997)]
    wide_header = ",".join(["First Name", "Email", "Title", *extra]).encode() + b"\n"
    filler = b"," + b",".join(b"v" for _ in extra)
    wide_rows = b"".join(b"W%d,w%d@example.com,Wide%s\n" % (i, i, filler) for i in range(30))
    narrow = HEADER + good(0, 3) + b"Too,many@example.com,Fields," + b"x," * 9_996 + b"x\n"

    wide = import_file(store, wide_header + wide_rows, chunk_size=64 * 1024)
    too_many = import_file(store, narrow)

    # Then the wide file loads every row and lists each unknown column once (line 0)
    assert (wide.total, wide.inserted, wide.failed) == (30, 30, 0)
    notices = report(s3, wide)
    assert len(notices) == 9_997
    assert {row["line"] for row in notices} == {"0"}
    # And a row with 10,000 fields under a 3-column header is one clear row error
    assert (too_many.inserted, too_many.failed) == (3, 1)
    [error] = report(s3, too_many)
    assert error["message"] == "has 10000 fields, the header has 3"


def test_an_unclosed_quote_is_one_error_for_the_rest_of_the_file(
    store: ObjectStore, conn: Any, s3: Any
) -> None:
    # Given an opening quote never closed on line 12, then 2,000 more rows over many chunks
    body = HEADER + good(0, 10) + b'Open,open@example.com,"never closed\n' + good(10, 2_000)

    summary = import_file(store, body, chunk_size=2048)

    # Then the rows before it load, and the rest of the file is ONE record: one error
    assert summary.chunks_total > 10
    assert summary.chunks_done == summary.chunks_total
    assert (summary.status, summary.total, summary.inserted, summary.failed) == (
        "completed_with_errors",
        11,
        10,
        1,
    )
    [error] = report(s3, summary)
    assert error["line"] == "12"
    assert "malformed CSV quoting" in error["message"]
    assert emails(conn) == {f"p{i}@example.com" for i in range(10)}
