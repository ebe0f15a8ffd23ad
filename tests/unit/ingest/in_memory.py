"""Splitting an in-memory file: the tests' way of running the splitter over small data.

Not part of the library (the Lambda steps stream byte ranges from S3): it derives the
quote parity and line number a range starts with from the bytes before it.
"""

from __future__ import annotations

from connectra.ingest.splitter import NEWLINE, QUOTE, Record, read_start, split_range


def split_bytes(
    data: bytes,
    start_byte: int = 0,
    end_byte: int | None = None,
    *,
    quote_aware: bool = True,
    piece_size: int | None = None,
    max_record_bytes: int | None = None,
) -> list[Record]:
    """Split an in-memory file (tests, small files): parity and line derived from `data`."""
    end = len(data) if end_byte is None else end_byte
    before = data[:start_byte]
    in_quotes = quote_aware and bool(before.count(QUOTE) % 2)
    first_line = before.count(NEWLINE) + 1
    tail = data[read_start(start_byte) :]
    step = piece_size or max(1, len(tail))
    pieces = (tail[i : i + step] for i in range(0, len(tail), step))
    return list(
        split_range(
            pieces,
            start_byte,
            end,
            in_quotes=in_quotes,
            first_line=first_line,
            quote_aware=quote_aware,
            max_record_bytes=max_record_bytes,
        )
    )
