"""Combined-row import benchmark: 1M contacts whose rows carry their company (100k
companies; `--quick`: 50k / 5k), against the same contacts without company columns.

Both files hold the same contacts (email, names, title, seniority, departments); the
combined one adds the company columns a people-search export has (Company, Website,
# Employees, Industry, Annual Revenue), each company named by ~10 rows spread over the
file. Each is imported by the real pipeline (plan → chunks in 2 worker processes →
finalize) from a local moto S3 server into a fresh database. The figure is the ratio of
the combined import's time to the plain import's, measured in the same run.
`BENCH_COMBINED_CONTACTS` overrides the contact count (the company count is a tenth).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from bench.ingest import BUCKET, MIB, _environment, _fresh_database, _new_job, _truncate

DATABASE = "connectra_bench_combined"
CHUNK_BYTES = 32 * MIB
WORKERS = 2


def write_files(folder: Path, contacts: int) -> tuple[Path, Path]:
    companies = max(1, contacts // 10)
    plain, combined = folder / "plain.csv", folder / "combined.csv"
    with plain.open("w") as p, combined.open("w") as c:
        p.write("email,first_name,last_name,title,seniority,departments\n")
        c.write(
            "Email,First Name,Last Name,Title,Seniority,Departments,"
            "Company,Website,# Employees,Industry,Annual Revenue\n"
        )
        for index in range(contacts):
            company = (index * 7919) % companies
            person = f"p{index}@c{company}.example,First{index},Last{index},Engineer,senior,Sales"
            p.write(person + "\n")
            c.write(
                f"{person},Company {company},https://www.c{company}.example,51-200,"
                f"Software,${company % 90 + 1}M\n"
            )
    return plain, combined


def _timed_import(path: Path, rows: int) -> dict[str, Any]:
    from connectra.local.pipeline import run_import

    job = _new_job(path, "contacts", CHUNK_BYTES)
    started = time.perf_counter()
    summary = run_import(job, workers=WORKERS)
    seconds = time.perf_counter() - started
    if summary.status != "completed" or summary.inserted != rows:
        raise RuntimeError(f"the benchmark import did not complete cleanly: {summary}")
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "chunks": summary.chunks_total,
        "companies_inserted": summary.companies_inserted,
    }


def run(quick: bool = False) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    contacts = int(os.environ.get("BENCH_COMBINED_CONTACTS") or (50_000 if quick else 1_000_000))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        url = _fresh_database(DATABASE, "postgres")
        _environment(url, endpoint)
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=BUCKET
        )
        with tempfile.TemporaryDirectory() as folder:
            plain, combined = write_files(Path(folder), contacts)
            load_before = os.getloadavg()
            baseline = _timed_import(plain, contacts)
            # Shown at once: were the run stopped during the combined import, the baseline
            # and the combined job's chunk timings (job_chunks) still give the projection.
            print(json.dumps({"combined_bench_baseline": baseline}), flush=True)
            _truncate(url, "contacts", "companies", "filters_data")
            measured = _timed_import(combined, contacts)
            load_after = os.getloadavg()
    finally:
        server.stop()
    result = {
        "quick": quick,
        "contacts": contacts,
        "companies": max(1, contacts // 10),
        "plain_contacts": baseline,
        "combined_rows": measured,
        "combined_over_plain": round(measured["seconds"] / baseline["seconds"], 2),
        "load_average": {"before": load_before, "after": load_after},
        "workers": WORKERS,
        "chunk_mib": CHUNK_BYTES // MIB,
    }
    write_result("combined", result)
    return result
