"""Parallel parts of one export: contiguous ranges of the uuid key space.

Record ids are UUID5/UUID4 values, spread evenly over the 128-bit space, so equal slices
of the space hold about equal numbers of rows without asking the database. A part holds
the rows with `after < uuid <= upto` (`after` None: from the first; `upto` None: to the
last), so the parts, in order, cover every uuid exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel

UUID_SPACE = 1 << 128


class KeyRange(BaseModel):
    index: int
    after: uuid.UUID | None = None
    upto: uuid.UUID | None = None

    def contains(self, record_id: uuid.UUID) -> bool:
        return (self.after is None or record_id > self.after) and (
            self.upto is None or record_id <= self.upto
        )


@dataclass(frozen=True)
class PartSizing:
    rows_per_part: int
    max_parts: int


def part_count(total_rows: int, sizing: PartSizing) -> int:
    wanted = -(-total_rows // max(1, sizing.rows_per_part))
    return max(1, min(sizing.max_parts, wanted))


def split_key_space(parts: int) -> list[KeyRange]:
    """`parts` contiguous ranges covering the whole uuid space, in ascending order."""
    bounds = [uuid.UUID(int=(UUID_SPACE * i) // parts - 1) for i in range(1, parts)]
    ranges: list[KeyRange] = []
    for index in range(parts):
        ranges.append(
            KeyRange(
                index=index,
                after=bounds[index - 1] if index > 0 else None,
                upto=bounds[index] if index < parts - 1 else None,
            )
        )
    return ranges
