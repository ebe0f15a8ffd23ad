"""Large exports: parallel uuid-range parts, assembled in order by UploadPartCopy."""

from __future__ import annotations

import gzip
import os
import uuid
from typing import Any

from connectra.export.assemble import PartObject, assemble
from connectra.export.job import write_export
from connectra.export.multipart import MIB, MultipartWriter
from connectra.export.request import ExportRequest
from tests.integration.export.conftest import BUCKET, csv_records, insert_contacts, read_object


def test_parts_of_any_size_assemble_in_order_without_gaps(s3: Any) -> None:
    # Big parts are copied inside S3, small ones gathered until S3's 5 MiB minimum:
    # every mix of sizes must give exactly the concatenation.
    sizes = [1 * MIB, 6 * MIB, 2 * MIB, 3 * MIB + 5, 0, 7 * MIB, 1024, 5 * MIB, 17]
    parts = []
    for index, size in enumerate(sizes):
        body = os.urandom(size)
        key = f"exports/job/parts/{index:05d}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        parts.append((PartObject(key, size), body))
    writer = MultipartWriter(s3, BUCKET, "exports/job/all.bin", "application/octet-stream", 5 * MIB)

    size = assemble(writer, BUCKET, [part for part, _ in parts])

    assembled = read_object(s3, "exports/job/all.bin")
    assert size == len(assembled) == sum(sizes)
    assert assembled == b"".join(body for _, body in parts)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/job/parts/")["KeyCount"] == 0
    assert len(writer.parts) >= 4  # several S3 parts, copied and uploaded


def test_a_large_export_splits_into_parts_and_keeps_every_row_once(
    bulk_db: str, s3: Any, conn: Any, override_settings: Any
) -> None:
    # Wide rows: each part is over 5 MiB, so the assembly copies parts inside S3.
    insert_contacts(conn, 40_000, companies=0, wide=600)
    conn.commit()
    override_settings(export_rows_per_part=10_000, export_max_parts=4, export_page_rows=2_000)

    summary = write_export(uuid.uuid4(), ExportRequest(entity="contacts"))

    assert summary.export_key is not None and summary.parts == 4
    data = read_object(s3, summary.export_key)
    assert summary.bytes == len(data) > 4 * 5 * MIB
    records = csv_records(data)
    header, rows = records[0], records[1:]
    assert header[0] == "uuid" and header.count("uuid") == 1
    ids = [row[0] for row in rows]
    assert summary.rows == len(ids) == 40_000
    assert ids == sorted(ids) and len(set(ids)) == 40_000
    expected = {str(r["uuid"]) for r in conn.execute("SELECT uuid FROM contacts").fetchall()}
    assert set(ids) == expected
    leftovers = s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")["Contents"]
    assert [item["Key"] for item in leftovers] == [summary.export_key]


def test_parallel_gzip_parts_make_one_valid_gzip_file(
    s3: Any, conn: Any, override_settings: Any
) -> None:
    insert_contacts(conn, 3_000, companies=0)
    conn.commit()
    override_settings(export_rows_per_part=1_000, export_max_parts=3, export_page_rows=400)

    summary = write_export(uuid.uuid4(), ExportRequest(entity="contacts", gzip=True))

    assert summary.export_key is not None and summary.parts == 3
    compressed = read_object(s3, summary.export_key)
    assert compressed.count(b"\x1f\x8b\x08") >= 3  # one gzip member per part
    records = csv_records(compressed, compressed=True)
    ids = [row[0] for row in records[1:]]
    assert records[0][0] == "uuid" and summary.rows == len(ids) == 3_000
    assert ids == sorted(ids) and len(set(ids)) == 3_000
    assert gzip.decompress(compressed).count(b"uuid,first_name") == 1
