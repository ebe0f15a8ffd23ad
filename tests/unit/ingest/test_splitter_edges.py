"""Named edge cases of the record splitter, each against every range cut of the file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectra.ingest.splitter import (
    Record,
    oversized_message,
    read_start,
    split_range,
)
from tests.unit.ingest.in_memory import split_bytes


def every_split(data: bytes, chunk_size: int) -> list[Record]:
    records: list[Record] = []
    for start in range(0, len(data), chunk_size):
        records.extend(split_bytes(data, start, min(start + chunk_size, len(data)), piece_size=3))
    return records


def assert_split_everywhere(data: bytes, expected: list[tuple[int, bytes]]) -> None:
    single = split_bytes(data)
    assert [(record.line, record.data) for record in single] == expected
    for chunk_size in range(1, len(data) + 1):
        assert every_split(data, chunk_size) == single, chunk_size


def test_quoted_newlines_commas_and_quotes_straddling_boundaries() -> None:
    data = b'a,b\n"x\nstill x, ""quoted""",2\nlast,3\n'
    assert_split_everywhere(data, [(1, b"a,b"), (2, b'"x\nstill x, ""quoted""",2'), (4, b"last,3")])


def test_crlf_terminators_are_removed_but_quoted_cr_kept() -> None:
    data = b'h1,h2\r\n"one\r\ntwo",x\r\ny,z\r\n'
    assert_split_everywhere(data, [(1, b"h1,h2"), (2, b'"one\r\ntwo",x'), (4, b"y,z")])


def test_bom_is_dropped_from_the_first_record_only() -> None:
    data = b"\xef\xbb\xbfemail\na@b.co\n"
    assert_split_everywhere(data, [(1, b"email"), (2, b"a@b.co")])


def test_header_only_file() -> None:
    assert_split_everywhere(b"first_name,email\n", [(1, b"first_name,email")])


def test_missing_final_newline() -> None:
    assert_split_everywhere(b"a\nb\nc", [(1, b"a"), (2, b"b"), (3, b"c")])


def test_blank_lines_are_skipped_and_still_counted_as_lines() -> None:
    data = b"h\n\n  \r\nx\n\n\ny\n\n"
    assert_split_everywhere(data, [(1, b"h"), (4, b"x"), (7, b"y")])


def test_empty_file_has_no_records() -> None:
    assert split_bytes(b"") == []


def test_unterminated_quote_swallows_the_rest_into_one_record() -> None:
    data = b'h\n"open,1\nnext,2\n'
    assert_split_everywhere(data, [(1, b"h"), (2, b'"open,1\nnext,2\n')])


def test_ndjson_ignores_quotes() -> None:
    data = b'{"a": "x\\"y"}\n{"b": 1}\n'
    single = split_bytes(data, quote_aware=False)
    assert [record.data for record in single] == [b'{"a": "x\\"y"}', b'{"b": 1}']


@pytest.mark.parametrize("start,end", [(-1, 3), (5, 2)])
def test_invalid_ranges_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        split_bytes(b"abcdef", start, end)


def test_a_record_over_the_size_limit_is_one_error_record_and_the_split_goes_on() -> None:
    data = b'h\nshort,1\n"long\n' + b"x" * 40 + b'",2\nafter,3\n'
    single = split_bytes(data, max_record_bytes=30)
    assert [(r.line, r.data, r.error) for r in single] == [
        (1, b"h", None),
        (2, b"short,1", None),
        (3, b'"long\n' + b"x" * 24, oversized_message(30, True)),  # its first 30 bytes
        (5, b"after,3", None),
    ]
    for chunk_size in range(1, len(data) + 1):
        for piece_size in (1, 3, 64):
            records: list[Record] = []
            for start in range(0, len(data), chunk_size):
                end = min(start + chunk_size, len(data))
                records.extend(
                    split_bytes(data, start, end, piece_size=piece_size, max_record_bytes=30)
                )
            assert records == single, (chunk_size, piece_size)


def test_an_unclosed_quote_stops_each_range_at_its_end() -> None:
    data = b'h\n"open,1\n' + b"row,2\n" * 200
    limit, chunk = 64, 100
    read: list[int] = []
    records: list[Record] = []
    for start in range(0, len(data), chunk):
        end = min(start + chunk, len(data))
        before = data[:start]
        pieces = []
        tail = data[read_start(start) :]
        for offset in range(0, len(tail), 7):
            pieces.append(tail[offset : offset + 7])
        consumed = 0

        def counting(parts: list[bytes]) -> Iterator[bytes]:
            nonlocal consumed
            for part in parts:
                consumed += len(part)
                yield part

        records.extend(
            split_range(
                counting(pieces),
                start,
                end,
                in_quotes=bool(before.count(b'"') % 2),
                first_line=before.count(b"\n") + 1,
                max_record_bytes=limit,
            )
        )
        read.append(read_start(start) + consumed)
        # Never further than the range end plus the record limit (plus one piece)
        assert read[-1] <= end + limit + 7, (start, read[-1])
    assert [(r.line, r.error) for r in records] == [(1, None), (2, oversized_message(limit, True))]
    assert records == split_bytes(data, max_record_bytes=limit)
    # A range wholly inside the quoted field reads no further than its own end (+1 piece)
    assert all(
        stop <= min(start + chunk, len(data)) + 7
        for start, stop in zip(range(200, len(data), chunk), read[2:], strict=True)
    )
