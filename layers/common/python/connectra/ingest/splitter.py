"""The exact record splitter: which bytes of a file form which record. Pure, no I/O.

A record boundary is a newline (LF) at even quote parity counted from the start of the
file. A quoted field may therefore hold commas, quotes (`""`) and newlines, and a byte
range can start or end anywhere: given the range and the quote parity at its start
(from a prefix sum over per-range quote counts), a worker skips the tail of the record
begun in the previous range and emits exactly the records that START inside its range,
reading past the range end only to finish its last record. The one-range case runs the
same code, so sequential and parallel splits agree by construction.

NDJSON records are newline-delimited with no quoting (JSON escapes its newlines), so the
same splitter runs with `quote_aware=False`.

Memory and reading are bounded by the range plus `max_record_bytes`: a record longer than
that (typically an unterminated quoted field, which would otherwise run to the end of the
file) is emitted once, at its start, as an error record (`Record.error`, `data` a short
excerpt) and its remaining bytes are scanned without being kept; when it runs past the
range end no later record can start in the range, so the worker stops there. A worker in
whose range no record starts (all of it inside a quoted field) stops at its range end.
Both rules depend only on the record's own start, so every split still agrees.

A quote or a newline byte never occurs inside a multi-byte UTF-8 sequence, so scanning
bytes is exact for UTF-8 and needs no decoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

QUOTE = b'"'
NEWLINE = b"\n"
BOM = b"\xef\xbb\xbf"
_BLANK = b" \t\r"
EXCERPT_BYTES = 4096  # what an oversized record keeps of its start (for the error report)


@dataclass(frozen=True, slots=True)
class Record:
    """One record: where it starts (byte offset, 1-based physical line) and its bytes.

    `data` has no record terminator (LF or CRLF) and no UTF-8 BOM. A record that cannot be
    read whole has `error` set and `data` holds only its first bytes.
    """

    offset: int
    line: int
    data: bytes
    error: str | None = None


def oversized_message(max_record_bytes: int, quote_aware: bool) -> str:
    """The error of a record over the size limit (the same wherever it is detected)."""
    if quote_aware:
        return (
            f"malformed CSV quoting: record longer than {max_record_bytes} bytes "
            "(an unterminated quoted field?)"
        )
    return f"record longer than {max_record_bytes} bytes"


@dataclass(frozen=True, slots=True)
class RangeCounts:
    """Quote and newline bytes in one byte range (the parallel first pass)."""

    quotes: int
    newlines: int


def count_bytes(pieces: Iterable[bytes]) -> RangeCounts:
    quotes = newlines = 0
    for piece in pieces:
        quotes += piece.count(QUOTE)
        newlines += piece.count(NEWLINE)
    return RangeCounts(quotes, newlines)


@dataclass(frozen=True, slots=True)
class RangeStart:
    """What a worker must know about the file before its range."""

    in_quotes: bool  # quote parity at the range's first byte
    line: int  # 1-based physical line number of the range's first byte


def range_starts(counts: Sequence[RangeCounts]) -> list[RangeStart]:
    """Prefix sums over consecutive ranges: the parity and line at each range start."""
    quotes_before = [0, *accumulate(count.quotes for count in counts)][:-1]
    newlines_before = [0, *accumulate(count.newlines for count in counts)][:-1]
    return [
        RangeStart(in_quotes=bool(quotes % 2), line=newlines + 1)
        for quotes, newlines in zip(quotes_before, newlines_before, strict=True)
    ]


def read_start(start_byte: int) -> int:
    """Where a worker's read begins: one byte early, to see if `start_byte` starts a record."""
    return max(0, start_byte - 1)


class RecordSplitter:
    """Incremental splitter for the records that start in `[start_byte, end_byte)`.

    Feed it the file's bytes from `read_start(start_byte)` on, in pieces of any size, until
    `done`; then call `finish()` (needed at the end of the file, harmless otherwise).
    Memory: the pieces fed plus one partial record (at most `max_record_bytes` when set).
    """

    def __init__(
        self,
        start_byte: int,
        end_byte: int,
        *,
        in_quotes: bool = False,
        first_line: int = 1,
        quote_aware: bool = True,
        skip_blank: bool = True,
        max_record_bytes: int | None = None,
    ) -> None:
        if start_byte < 0 or end_byte < start_byte:
            raise ValueError(f"invalid byte range [{start_byte}, {end_byte})")
        if max_record_bytes is not None and max_record_bytes < 1:
            raise ValueError("max_record_bytes must be at least 1")
        self._max_record_bytes = max_record_bytes
        self._oversized = False  # the current record was reported too long: bytes not kept
        self.start_byte = start_byte
        self.end_byte = end_byte
        self._quote_aware = quote_aware
        self._skip_blank = skip_blank
        self._in_quotes = in_quotes and quote_aware
        self._line = first_line
        self._position = read_start(start_byte)  # absolute offset of the next byte fed
        self._skip_previous_byte = start_byte > 0
        # The record being collected: its start and the bytes carried over from earlier pieces.
        self._record_offset: int | None = 0 if start_byte == 0 else None
        self._record_line = first_line
        self._carry: list[bytes] = []
        self.done = start_byte >= end_byte

    def feed(self, piece: bytes) -> list[Record]:
        records: list[Record] = []
        if self.done or not piece:
            return records
        index = 0
        if self._skip_previous_byte:
            # The byte before the range: the range starts a record iff it is a newline
            # outside quotes (a newline is not a quote, so the parity is the same).
            self._skip_previous_byte = False
            index = 1
            self._position += 1
            if piece[:1] == NEWLINE and not self._in_quotes:
                self._record_offset = self.start_byte
        base = self._position - index  # absolute offset of piece[0]
        size = len(piece)
        find, count = piece.find, piece.count
        mark = index  # piece[mark:] is the current record's, not carried yet
        while index < size:
            newline = find(NEWLINE, index)
            if newline < 0:
                if self._quote_aware and count(QUOTE, index, size) % 2:
                    self._in_quotes = not self._in_quotes
                self._check_length(records, base + size, piece, mark)
                break
            if self._quote_aware and count(QUOTE, index, newline) % 2:
                self._in_quotes = not self._in_quotes
            self._line += 1
            index = newline + 1
            if self._in_quotes:  # a newline inside a quoted field: the record goes on
                if self._check_length(records, base + index, piece, mark):
                    break
                continue
            if self._record_offset is not None:
                if self._oversized or self._over_limit(base + newline):
                    self._report_oversized(records, piece, mark)
                    self._oversized = False
                    self._carry = []
                else:
                    self._emit(records, self._take(piece, mark, newline))
            mark = index
            if base + index >= self.end_byte:
                self.done = True
                self._carry = []
                break
            self._record_offset = base + index
            self._record_line = self._line
        carrying = self._record_offset is not None and not self._oversized
        if carrying and not self.done and mark < size:
            self._carry.append(piece[mark:size])
        self._position = base + size
        return records

    def finish(self) -> list[Record]:
        """End of the file: the last record may lack its final newline."""
        records: list[Record] = []
        if not self.done and self._record_offset is not None:
            if self._oversized or self._over_limit(self._position):
                self._report_oversized(records, b"", 0)
            elif self._carry:
                self._emit(records, b"".join(self._carry))
        self.done = True
        self._carry = []
        return records

    def _over_limit(self, end: int) -> bool:
        """Whether the current record, ending at absolute offset `end`, is too long."""
        limit = self._max_record_bytes
        return (
            limit is not None
            and self._record_offset is not None
            and (end - self._record_offset > limit)
        )

    def _check_length(self, records: list[Record], scanned: int, piece: bytes, mark: int) -> bool:
        """After scanning up to `scanned` (absolute) inside a record whose bytes not carried
        yet start at `piece[mark]`: report it once when it is too long (its bytes are then
        dropped), and stop when no other record can start in the range. True when done."""
        if self._record_offset is None:
            # Skipping the previous range's record: a record can only start after it.
            if scanned >= self.end_byte:
                self.done = True
            return self.done
        if not self._oversized and self._over_limit(scanned):
            self._report_oversized(records, piece, mark)
            self._oversized = True
            self._carry = []
        if self._oversized and scanned >= self.end_byte:
            self.done = True
        return self.done

    def _report_oversized(self, records: list[Record], piece: bytes, mark: int) -> None:
        """Report the current record as too long; `piece[mark:]`: its bytes not carried yet."""
        if self._oversized:
            return  # reported when it went over the limit
        assert self._record_offset is not None and self._max_record_bytes is not None
        # The same excerpt wherever the record was found too long: at least the limit's
        # worth of its bytes has been seen by then.
        size = min(EXCERPT_BYTES, self._max_record_bytes)
        excerpt = bytearray()
        for part in (*self._carry, piece[mark : mark + size]):
            excerpt += part[: size - len(excerpt)]
            if len(excerpt) >= size:
                break
        if self._record_offset == 0 and excerpt.startswith(BOM):
            del excerpt[: len(BOM)]
        message = oversized_message(self._max_record_bytes, self._quote_aware)
        records.append(Record(self._record_offset, self._record_line, bytes(excerpt), message))

    def _take(self, piece: bytes, start: int, stop: int) -> bytes:
        if self._carry:
            self._carry.append(piece[start:stop])
            data = b"".join(self._carry)
            self._carry = []
            return data
        return piece[start:stop]

    def _emit(self, records: list[Record], data: bytes) -> None:
        assert self._record_offset is not None
        if data.endswith(b"\r"):
            data = data[:-1]
        if self._record_offset == 0 and data.startswith(BOM):
            data = data[len(BOM) :]
        if self._skip_blank and not data.strip(_BLANK):
            return
        records.append(Record(self._record_offset, self._record_line, data))


def split_range(
    pieces: Iterable[bytes],
    start_byte: int,
    end_byte: int,
    *,
    in_quotes: bool = False,
    first_line: int = 1,
    quote_aware: bool = True,
    max_record_bytes: int | None = None,
) -> Iterator[Record]:
    """The records starting in `[start_byte, end_byte)`; `pieces` begin at `read_start(start_byte)`.

    Reads `pieces` only as far as needed to finish the last record (or to see that it is
    longer than `max_record_bytes`).
    """
    splitter = RecordSplitter(
        start_byte,
        end_byte,
        in_quotes=in_quotes,
        first_line=first_line,
        quote_aware=quote_aware,
        max_record_bytes=max_record_bytes,
    )
    for piece in pieces:
        yield from splitter.feed(piece)
        if splitter.done:
            return
    yield from splitter.finish()
