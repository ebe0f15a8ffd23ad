"""S3 adapter: ranged streaming reads, puts, presigned POST/GET, listing.

The endpoint comes from `settings.s3_endpoint_url` (the local moto server), else AWS.
`LocalFileStore` offers the same read interface over a local folder (benchmarks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from connectra.errors import ConnectraError
from connectra.settings import Settings, get_settings

PIECE_BYTES = 1024 * 1024  # streamed read size: memory per open read


class SourceChanged(ConnectraError):
    """The object is no longer the version being imported (another upload replaced it)."""

    code = "source_changed"


def _changed(bucket: str, key: str, etag: str) -> SourceChanged:
    return SourceChanged(
        f"s3://{bucket}/{key} changed during the import (it is no longer ETag {etag}): "
        "another version was written to the same key"
    )


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_bytes: int


class ByteRangeReader(Protocol):
    """What the ingest workers need from storage."""

    def head(self, bucket: str, key: str) -> ObjectInfo: ...

    def iter_range(
        self,
        bucket: str,
        key: str,
        start: int,
        end: int | None,
        piece_bytes: int = PIECE_BYTES,
        *,
        if_match: str | None = None,
    ) -> Iterator[bytes]:
        """Bytes `[start, end)` (to the end of the object when `end` is None), streamed.

        With `if_match` (an ETag), raises `SourceChanged` unless the object has that ETag.
        """
        ...


class ObjectStore:
    """S3 through boto3."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def head(self, bucket: str, key: str) -> ObjectInfo:
        response = self.client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(response["ContentLength"]),
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
        )

    def iter_range(
        self,
        bucket: str,
        key: str,
        start: int,
        end: int | None,
        piece_bytes: int = PIECE_BYTES,
        *,
        if_match: str | None = None,
    ) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        byte_range = f"bytes={start}-{'' if end is None else end - 1}"
        condition = {"IfMatch": f'"{if_match}"'} if if_match else {}
        try:
            response = self.client.get_object(Bucket=bucket, Key=key, Range=byte_range, **condition)
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "InvalidRange":
                return  # past the end of the object: nothing to read
            if code in ("PreconditionFailed", "412") and if_match:
                raise _changed(bucket, key, if_match) from exc
            raise
        body = response["Body"]
        try:
            yield from body.iter_chunks(piece_bytes)
        finally:
            body.close()

    def read_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return b"".join(self.iter_range(bucket, key, start, end))

    def put_bytes(
        self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def put_file(self, bucket: str, key: str, handle: BinaryIO, content_type: str) -> None:
        """Multipart when large; `handle` is read in parts, never whole."""
        self.client.upload_fileobj(handle, bucket, key, ExtraArgs={"ContentType": content_type})

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        body = json.dumps(document, separators=(",", ":")).encode()
        self.put_bytes(bucket, key, body, "application/json")

    def get_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    bucket=bucket,
                    key=item["Key"],
                    size=int(item["Size"]),
                    etag=str(item.get("ETag", "")).strip('"'),
                )

    def presigned_post(
        self, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        """A browser-style upload form: exactly this key, this type, 1..max_bytes bytes."""
        prefix = key.rsplit("/", 1)[0] + "/"
        response = self.client.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                ["content-length-range", 1, max_bytes],
                ["starts-with", "$key", prefix],
                {"key": key},
                {"Content-Type": content_type},
            ],
            ExpiresIn=expires_in,
        )
        return PresignedPost(
            url=response["url"],
            fields={name: str(value) for name, value in response["fields"].items()},
            key=key,
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            max_bytes=max_bytes,
        )

    def presigned_put(self, bucket: str, key: str, content_type: str, expires_in: int) -> str:
        """One URL to PUT the file to (clients that expect a single URL). A PUT cannot bound
        its size in the signature: the size is checked when the import starts."""
        url: str = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
        )
        return url

    def presigned_get(
        self, bucket: str, key: str, expires_in: int, download_name: str | None = None
    ) -> str:
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in
        )
        return url


class LocalFileStore:
    """The read interface over files in a folder (`bucket` is a sub-folder): benchmarks."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def head(self, bucket: str, key: str) -> ObjectInfo:
        stat = self._path(bucket, key).stat()
        return ObjectInfo(bucket, key, stat.st_size, f"{stat.st_mtime_ns:x}-{stat.st_size:x}")

    def iter_range(
        self,
        bucket: str,
        key: str,
        start: int,
        end: int | None,
        piece_bytes: int = PIECE_BYTES,
        *,
        if_match: str | None = None,
    ) -> Iterator[bytes]:
        if if_match and self.head(bucket, key).etag != if_match:
            raise _changed(bucket, key, if_match)
        with self._path(bucket, key).open("rb") as handle:
            handle.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                piece = handle.read(
                    piece_bytes if remaining is None else min(piece_bytes, remaining)
                )
                if not piece:
                    return
                if remaining is not None:
                    remaining -= len(piece)
                yield piece


def s3_client(settings: Settings | None = None) -> Any:
    # boto3 is imported here, not at the top: most API requests never touch S3, and
    # importing botocore is a large share of the API's cold import.
    import boto3
    from botocore.config import Config

    settings = settings or get_settings()
    return boto3.client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.s3_endpoint_url,
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
    )


@lru_cache(maxsize=1)
def get_store() -> ObjectStore:
    """One client per process (per Lambda container); tests clear the cache."""
    return ObjectStore(s3_client())
