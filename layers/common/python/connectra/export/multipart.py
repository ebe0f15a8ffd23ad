"""S3 multipart upload with bounded memory: the export's only S3 adapter.

`MultipartWriter` buffers written bytes and uploads a part whenever `part_bytes` have
accumulated, so at most about one part is in memory. Every part but the last must be at
least 5 MiB (S3 refuses the upload otherwise); `copy_object_range` adds a part copied
server-side from another object (UploadPartCopy), which the assembly of parallel parts
uses. An output that never filled one part is written with a single PutObject. Any error
aborts the upload, so no orphaned parts are left behind.
"""

from __future__ import annotations

import zlib
from types import TracebackType
from typing import Any

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB  # S3: every part but the last
MAX_COPY_PART_BYTES = 5 * 1024 * MIB  # S3: largest UploadPartCopy source range
MAX_PARTS = 10_000  # S3: part numbers 1..10000


class MultipartWriter:
    def __init__(
        self, client: Any, bucket: str, key: str, content_type: str, part_bytes: int
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part size must be at least {MIN_PART_BYTES} bytes (S3 minimum)")
        self.client = client
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self.part_bytes = part_bytes
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.bytes_written = 0
        self.closed = False

    # -- writing -------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.bytes_written += len(data)
        while len(self.buffer) >= self.part_bytes:
            piece = bytes(self.buffer[: self.part_bytes])
            del self.buffer[: self.part_bytes]
            self._upload_part(piece)

    @property
    def buffered(self) -> int:
        return len(self.buffer)

    def flush_part(self) -> None:
        """Upload what is buffered as a part now (it must be ≥ 5 MiB unless it is the last)."""
        if self.buffer:
            piece = bytes(self.buffer)
            self.buffer.clear()
            self._upload_part(piece)

    def copy_object_range(self, source_bucket: str, source_key: str, start: int, end: int) -> None:
        """Append bytes [start, end) of another object, copied inside S3 (nothing buffered)."""
        if self.buffer:
            raise RuntimeError("flush the buffered bytes before copying a range")
        response = self.client.upload_part_copy(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._ensure_upload(),
            PartNumber=self._next_part_number(),
            CopySource={"Bucket": source_bucket, "Key": source_key},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        etag = response["CopyPartResult"]["ETag"]
        self.parts.append({"PartNumber": len(self.parts) + 1, "ETag": etag})
        self.bytes_written += end - start

    # -- finishing -----------------------------------------------------------------------

    def close(self) -> int:
        """Complete the object; returns its size in bytes."""
        if self.closed:
            return self.bytes_written
        if self.upload_id is None:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=bytes(self.buffer),
                ContentType=self.content_type,
            )
        else:
            self.flush_part()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        self.buffer.clear()
        self.closed = True
        return self.bytes_written

    def abort(self) -> None:
        if self.upload_id is not None and not self.closed:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
        self.buffer.clear()
        self.closed = True

    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- internals -----------------------------------------------------------------------

    def _ensure_upload(self) -> str:
        if self.upload_id is None:
            response = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )
            self.upload_id = str(response["UploadId"])
        return self.upload_id

    def _next_part_number(self) -> int:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise RuntimeError(f"more than {MAX_PARTS} parts: raise export_part_bytes")
        return number

    def _upload_part(self, piece: bytes) -> None:
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._ensure_upload(),
            PartNumber=self._next_part_number(),
            Body=piece,
        )
        self.parts.append({"PartNumber": len(self.parts) + 1, "ETag": response["ETag"]})


class GzipStream:
    """A gzip member written through to a MultipartWriter as it compresses."""

    def __init__(self, sink: MultipartWriter) -> None:
        self.sink = sink
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container

    def write(self, data: bytes) -> None:
        compressed = self.compressor.compress(data)
        if compressed:
            self.sink.write(compressed)

    def finish(self) -> None:
        self.sink.write(self.compressor.flush())
