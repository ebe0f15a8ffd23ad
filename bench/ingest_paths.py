"""The SQL import path against the Python parser on one file: rows/s of each, alternated.

One process, one worker (chunks run in-process), the OpenSearch configuration (keys-only
tables, the search outbox written), the private cluster or DATABASE_URL's server. A
generated file (connectra.local.sample: `--rows` companies; contacts referencing
companies imported once beforehand; or combined rows, contacts carrying their company's
name, domain, industries and head count) is imported `--rounds` times per path into emptied
tables, the paths alternating (SQL, Python, SQL, …) so the machine's noise reaches both
alike. Reported: each round's rows/s, each path's median and the ratio of the medians.

    .venv/bin/python -m bench.ingest_paths --file companies --rows 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import RESULTS, machine
from bench.ingest import BUCKET, MIB, _environment, _free_port, _fresh_database, _new_job, _truncate

DATABASE = "connectra_bench_ingest_paths"
RESULT = RESULTS / "ingest_paths.json"
COMMAND = (
    ".venv/bin/python -m bench.ingest_paths --file {companies,combined,contacts} "
    "--rows 100000 --rounds 3"
)
PATHS = {"sql": "true", "python": "false"}
# Emptied before each round; companies only for a companies file (contacts reference them).
EMPTIED = ("filters_data", "search_outbox", "search_outbox_batches", "import_keys", "contacts")


COMBINED_COMPANY_COLUMNS = ("name", "normalized_domain", "industries", "employees_count")


def _combined_file(folder: Path, rows: int) -> Path:
    """Contacts with their company's columns (`company_name`, …) instead of its id."""
    from connectra.local.sample import CONTACT_COLUMNS, company_rows, contact_rows, write_csv

    # 100 contacts per company: a batch of 5,000 rows names ~50 companies. (With 10 per
    # company the Python path once took 21 s for one batch's filter count prune: a
    # prepared generic plan probing the trigram GIN per company id, db/filter_counts.py.)
    companies = company_rows(max(1, rows // 100))
    by_domain = {company["normalized_domain"]: company for company in companies}
    columns = [name for name in CONTACT_COLUMNS if name != "company_id"]
    names = [*columns, *(f"company_{name}" for name in COMBINED_COMPANY_COLUMNS)]

    def combined() -> Iterator[dict[str, Any]]:
        for contact in contact_rows(rows, companies):
            company = by_domain[contact["email"].rsplit("@", 1)[1]]
            yield {name: contact[name] for name in columns} | {
                f"company_{name}": company[name] for name in COMBINED_COMPANY_COLUMNS
            }

    path = folder / "combined.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, combined(), names)
    return path


def _sample_file(folder: Path, kind: str, rows: int) -> tuple[Path, Path | None]:
    """The measured file, and the companies file a contacts file references (else None)."""
    from connectra.local.sample import write_sample_files

    if kind == "companies":
        companies_csv, _ = write_sample_files(folder, rows, 0)
        return companies_csv, None
    if kind == "combined":
        return _combined_file(folder, rows), None
    companies_csv, contacts_csv = write_sample_files(folder, max(1, rows // 10), rows)
    return contacts_csv, companies_csv


def import_round(path: Path, entity: str, rows: int, chunk_size: int, sql_path: str) -> float:
    """One import of the file with the SQL path on or off; its rows/s."""
    from connectra.local.pipeline import run_import
    from connectra.settings import get_settings

    os.environ["INGEST_SQL_PATH"] = sql_path
    get_settings.cache_clear()
    job = _new_job(path, entity, chunk_size)
    started = time.perf_counter()
    summary = run_import(job, workers=1)
    seconds = time.perf_counter() - started
    if summary.status != "completed" or summary.inserted != rows:
        raise RuntimeError(f"the measured import did not complete cleanly: {summary}")
    return rows / seconds


def run(kind: str, rows: int, rounds: int, chunk_mib: int) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.start()
    measured: dict[str, list[float]] = {name: [] for name in PATHS}
    try:
        database_url = _fresh_database(DATABASE, "opensearch")
        _environment(database_url, f"http://127.0.0.1:{port}", "opensearch")
        from connectra.local.pipeline import run_import
        from connectra.storage.s3 import get_store

        get_store().client.create_bucket(Bucket=BUCKET)
        chunk_size = chunk_mib * MIB
        with tempfile.TemporaryDirectory(prefix="connectra-paths-") as folder:
            path, companies_csv = _sample_file(Path(folder), kind, rows)
            entity = "companies" if kind == "companies" else "contacts"
            if companies_csv is not None:
                run_import(_new_job(companies_csv, "companies", chunk_size), 1)
            emptied = EMPTIED if companies_csv else (*EMPTIED, "companies", "import_company_keys")
            for _ in range(rounds):
                for name, sql_path in PATHS.items():
                    _truncate(database_url, *emptied)
                    measured[name].append(import_round(path, entity, rows, chunk_size, sql_path))
    finally:
        server.stop()
    medians = {name: statistics.median(values) for name, values in measured.items()}
    return {
        "file": kind,
        "rows": rows,
        "chunk_mib": chunk_mib,
        "rows_per_s": {
            name: [round(value) for value in values] for name, values in measured.items()
        },
        "median_rows_per_s": {name: round(value) for name, value in medians.items()},
        "sql_to_python": round(medians["sql"] / medians["python"], 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--file", choices=("companies", "contacts", "combined"), default="companies"
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=16)
    args = parser.parse_args(argv)
    result = run(args.file, args.rows, args.rounds, args.chunk_mib)
    print(json.dumps(result, indent=2))
    record(result)
    return 0


def record(result: dict[str, Any]) -> None:
    """The run replaces the last one of its file in bench/results/ingest_paths.json (the
    other files' stay), and the table is written again from it."""
    runs = json.loads(RESULT.read_text())["runs"] if RESULT.exists() else []
    runs = [run for run in runs if run["file"] != result["file"]]
    runs.append({**result, "machine": machine()})
    runs.sort(key=lambda run: str(run["file"]))
    RESULT.write_text(json.dumps({"command": COMMAND, "runs": runs}, indent=2) + "\n")
    RESULT.with_suffix(".md").write_text(markdown(runs))


def markdown(runs: list[dict[str, Any]]) -> str:
    lines = [
        "# SQL import path against the Python parser (bench/ingest_paths.py)",
        "",
        "One process, one worker, the OpenSearch configuration (keys-only tables, search "
        "outbox written), generated files, the paths alternated within each round; the "
        "ratio of medians is the figure. Combined: contacts carrying their company's name, "
        "domain, industries and head count, 100 contacts per company.",
        "",
        f"`{COMMAND}`",
        "",
        "| file | rows | SQL path rows/s (rounds) | Python rows/s (rounds) | median ratio "
        "| measured |",
        "|---|---:|---|---|---:|---|",
    ]
    for run in runs:
        sql, python = run["rows_per_s"]["sql"], run["rows_per_s"]["python"]
        medians = run["median_rows_per_s"]
        lines.append(
            f"| {run['file']} | {run['rows']:,} | {medians['sql']:,} "
            f"({', '.join(f'{value:,}' for value in sql)}) | {medians['python']:,} "
            f"({', '.join(f'{value:,}' for value in python)}) | {run['sql_to_python']} | "
            f"{run.get('machine', {}).get('when', '?')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
