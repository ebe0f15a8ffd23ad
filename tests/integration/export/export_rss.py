"""Run one export in this (sub)process and print its summary and peak memory as JSON.

Used by test_export_200k.py: `python export_rss.py ROWS`. The environment gives
DATABASE_URL, S3_ENDPOINT_URL (a moto server in another process, so the exported bytes
are not counted here) and S3_BUCKET. Exports the contacts created in the first ROWS
seconds of 2024 (the synthetic data has one contact per second), with the default
spreadsheet formula escaping: the importer undoes it, so the re-imported rows are equal.

Peak memory is the kernel's high-water mark of this process (VmHWM): unlike ru_maxrss,
it starts afresh at exec, so the parent's size does not leak into it.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "layers" / "common" / "python"))

from connectra.export.job import write_export
from connectra.export.pages import count_rows
from connectra.export.request import ExportRequest, plan_export


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(rows: int) -> None:
    start = "2024-01-01T00:00:00+00:00"
    request = ExportRequest(
        entity="contacts",
        vql={
            "where": {"range_query": {"must": {"created_at": {"gt": start, "lte": _after(rows)}}}}
        },
    )
    count_rows(plan_export(request).query)  # warm: pool, imports, first query
    baseline = peak_rss_mib()
    summary = write_export(uuid.uuid4(), request)
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "parts": summary.parts,
                "bytes": summary.bytes,
                "export_key": summary.export_key,
                "baseline_rss_mib": round(baseline, 1),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
        )
    )


def _after(seconds: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).isoformat()


if __name__ == "__main__":
    main(int(sys.argv[1]))
