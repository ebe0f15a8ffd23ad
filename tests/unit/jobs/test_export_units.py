"""Export building blocks without I/O: key ranges, copy ranges, cell encoding."""

from __future__ import annotations

import itertools
import uuid

from connectra.export.assemble import copy_ranges
from connectra.export.encode import RowEncoder, neutralize_formula
from connectra.export.multipart import MAX_COPY_PART_BYTES, MIN_PART_BYTES
from connectra.export.ranges import PartSizing, part_count, split_key_space
from connectra.export.request import ExportFormat
from connectra.models.fields import Entity


def test_key_ranges_cover_every_uuid_exactly_once() -> None:
    ranges = split_key_space(5)
    samples = [uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)] + [
        uuid.uuid4() for _ in range(2000)
    ]
    samples += [r.upto for r in ranges if r.upto is not None]

    for sample in samples:
        assert sum(r.contains(sample) for r in ranges) == 1
    assert [r.index for r in ranges] == list(range(5))


def test_part_count_follows_rows_and_is_capped() -> None:
    sizing = PartSizing(rows_per_part=1000, max_parts=4)
    assert [part_count(n, sizing) for n in (0, 999, 1000, 1001, 3500, 10**9)] == [1, 1, 1, 2, 4, 4]


def test_copy_ranges_respect_s3_limits() -> None:
    size = 2 * MAX_COPY_PART_BYTES + 7
    pieces = copy_ranges(0, size)
    assert pieces[0][0] == 0 and pieces[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(MIN_PART_BYTES <= end - start <= MAX_COPY_PART_BYTES for start, end in pieces)


def test_formula_prefixes_are_neutralized_and_others_kept() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralize_formula(dangerous) == "'" + dangerous
    for harmless in ("Alice", "1+1", "a=b", ""):
        assert neutralize_formula(harmless) == harmless


def test_csv_cells_join_lists_and_leave_numbers_alone() -> None:
    encoder = RowEncoder(
        Entity.COMPANIES, ExportFormat.CSV, ["name", "industries", "employees_count"], True
    )
    line = encoder.encode([{"name": "=cmd", "industries": ["a", "-b"], "employees_count": -3}])
    assert line == b"'=cmd,a; -b,-3\n"
