"""Parallel part objects → one object, in part order, copied inside S3 where possible.

A part object of at least 5 MiB becomes multipart parts by UploadPartCopy (no bytes pass
through the function). Smaller ones (S3 refuses parts under 5 MiB but the last) are read
and buffered until 5 MiB have gathered; a larger part that follows a partly filled buffer
first tops it up from its own head, and the rest of it is copied. Memory stays below one
part plus 5 MiB whatever the export size. gzip parts are whole gzip members, and
concatenated members are one valid gzip file (RFC 1952), so this works for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectra.export.multipart import MAX_COPY_PART_BYTES, MIN_PART_BYTES, MultipartWriter


@dataclass(frozen=True)
class PartObject:
    key: str
    size: int


def _read(client: Any, bucket: str, key: str, start: int, end: int) -> bytes:
    response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
    body: bytes = response["Body"].read()
    return body


def copy_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) in as few equal copy ranges as S3 allows (each ≤ 5 GiB, each ≥ 5 MiB)."""
    size = end - start
    pieces = max(1, -(-size // MAX_COPY_PART_BYTES))
    step = -(-size // pieces)
    return [(offset, min(offset + step, end)) for offset in range(start, end, step)]


def append_object(writer: MultipartWriter, bucket: str, part: PartObject) -> None:
    position = 0
    if writer.buffered:
        top_up = min(MIN_PART_BYTES - writer.buffered, part.size)
        if top_up > 0:
            writer.write(_read(writer.client, bucket, part.key, 0, top_up))
            position = top_up
        if writer.buffered >= MIN_PART_BYTES:
            writer.flush_part()
    remaining = part.size - position
    if remaining <= 0:
        return
    if remaining >= MIN_PART_BYTES and not writer.buffered:
        for start, end in copy_ranges(position, part.size):
            writer.copy_object_range(bucket, part.key, start, end)
    else:
        writer.write(_read(writer.client, bucket, part.key, position, part.size))


def assemble(
    writer: MultipartWriter, bucket: str, parts: Sequence[PartObject], delete_parts: bool = True
) -> int:
    """Write `parts` in order into `writer`'s object and complete it; returns its size."""
    try:
        for part in parts:
            if part.size:
                append_object(writer, bucket, part)
        size = writer.close()
    except BaseException:
        writer.abort()
        raise
    if delete_parts and parts:
        writer.client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": part.key} for part in parts], "Quiet": True}
        )
    return size
