"""Property: splitting a CSV into byte ranges of any size yields exactly the one-range records."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.ingest.splitter import (
    RangeCounts,
    Record,
    count_bytes,
    range_starts,
    read_start,
    split_range,
)
from tests.unit.ingest.in_memory import split_bytes

FIELD_TEXT = st.text(
    alphabet=st.sampled_from(list('ab ,"\r\n\t;xyzé€😀Ω')) | st.characters(codec="utf-8"),
    max_size=12,
)


def render_field(value: str, force_quotes: bool) -> str:
    if force_quotes or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[list[str]]]:
    width = draw(st.integers(min_value=1, max_value=4))
    rows = draw(st.lists(st.lists(FIELD_TEXT, min_size=width, max_size=width), max_size=12))
    terminator = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    parts: list[str] = []
    for index, row in enumerate(rows):
        quote_all = draw(st.booleans())
        line = ",".join(render_field(value, quote_all) for value in row)
        if not line.strip(" \t\r"):
            line = ",".join(render_field(value, True) for value in row)
        if index and draw(st.integers(0, 4)) == 0:
            parts.append(draw(st.sampled_from(["\n", "\r\n", "  \n"])))  # blank lines
        parts.append(line)
        ending = terminator if terminator != "mixed" else draw(st.sampled_from(["\n", "\r\n"]))
        if index < len(rows) - 1 or draw(st.booleans()):
            parts.append(ending)
    data = "".join(parts).encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data, rows


def split_in_ranges(data: bytes, chunk_size: int, piece_size: int) -> list[Record]:
    """The parallel design: count pass per range, prefix sums, then a worker per range."""
    bounds = [
        (start, min(start + chunk_size, len(data))) for start in range(0, len(data), chunk_size)
    ]
    counts = [count_bytes([data[start:end]]) for start, end in bounds]
    records: list[Record] = []
    for (start, end), begin in zip(bounds, range_starts(counts), strict=True):
        tail = data[read_start(start) :]
        pieces = (tail[i : i + piece_size] for i in range(0, len(tail), piece_size))
        records.extend(
            split_range(pieces, start, end, in_quotes=begin.in_quotes, first_line=begin.line)
        )
    return records


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.integers(min_value=1, max_value=64), st.integers(min_value=1, max_value=9))
def test_any_chunk_size_gives_the_single_chunk_records(
    generated: tuple[bytes, list[list[str]]], chunk_size: int, piece_size: int
) -> None:
    data, rows = generated

    single = split_bytes(data)
    multi = split_in_ranges(data, chunk_size, piece_size)

    assert multi == single
    parsed = [next(csv.reader(io.StringIO(record.data.decode("utf-8")))) for record in single]
    assert parsed == rows
    for record in single:
        assert record.line == data[: record.offset].count(b"\n") + 1


def test_range_starts_are_prefix_sums() -> None:
    starts = range_starts([RangeCounts(3, 2), RangeCounts(1, 5), RangeCounts(0, 0)])
    assert [(s.in_quotes, s.line) for s in starts] == [(False, 1), (True, 3), (False, 8)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    csv_files(),
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=1, max_value=40),
)
def test_a_record_size_limit_gives_the_same_records_for_any_chunk_size(
    generated: tuple[bytes, list[list[str]]], chunk_size: int, piece_size: int, limit: int
) -> None:
    data, _ = generated
    bounds = [
        (start, min(start + chunk_size, len(data))) for start in range(0, len(data), chunk_size)
    ]
    counts = [count_bytes([data[start:end]]) for start, end in bounds]
    multi: list[Record] = []
    for (start, end), begin in zip(bounds, range_starts(counts), strict=True):
        tail = data[read_start(start) :]
        pieces = (tail[i : i + piece_size] for i in range(0, len(tail), piece_size))
        multi.extend(
            split_range(
                pieces,
                start,
                end,
                in_quotes=begin.in_quotes,
                first_line=begin.line,
                max_record_bytes=limit,
            )
        )

    single = split_bytes(data, max_record_bytes=limit)

    assert multi == single
    unlimited = {record.offset: record for record in split_bytes(data)}
    for record in single:  # a record within the limit is the same record
        assert record.error is not None or unlimited[record.offset] == record
    for record in unlimited.values():  # (the limit also counts a BOM and a CR)
        if len(record.data) + 4 <= limit:
            assert record in single
