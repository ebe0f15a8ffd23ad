"""Where a contacts chunk's time goes: wall time per step of the import pipeline.

One process, one worker (chunks run in-process, one after another), the OpenSearch
configuration (keys-only tables, the search outbox written), the private cluster or
DATABASE_URL's server. The contacts file (with the companies it references, imported
first) is imported `--rounds` times into emptied tables; each round reports the wall
time of every step of the chunk worker that exists in the code being run (methods are
wrapped by name, so one script profiles an older checkout too: run it with that
checkout's `layers/common/python` first on PYTHONPATH), the database's CPU per row
(bench/ingest.py `database_cpu_seconds`) and the statements sent per batch.

Steps nest (a batch's `load` holds its ledger, insert …): shares are of the chunks'
total wall time, so nested steps add up to their parent's, not to 100 %.

    .venv/bin/python -m bench.ingest_profile --contacts 200000 --rounds 3

`--variants` compares ways of importing the same contacts, alternated within each round:
`csv` (the file as generated), `ndjson` (the same records as NDJSON lines, `json.dumps`
of the non-empty cells), each with the SQL path on; a `-python` suffix turns the SQL
path off (`INGEST_SQL_PATH=false`). The summary gives each variant's median rows/s and
its ratio to the first variant.

    .venv/bin/python -m bench.ingest_profile --contacts 100000 --rounds 3 \\
        --variants ndjson,ndjson-python,csv
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import direct_split
from bench.ingest import (
    BUCKET,
    MIB,
    _environment,
    _free_port,
    _fresh_database,
    _generate,
    _new_job,
    _truncate,
    database_cpu_seconds,
)
from connectra.local.postgres import default_cluster

DATABASE = "connectra_bench_ingest_profile"
SPLIT_RESULT = Path(__file__).parent / "results" / "ingest_split.md"

# (module, attribute path) of every step worth timing, old and new names alike.
STEPS = [
    ("connectra.ingest.chunk", "_run_in_transaction"),
    ("connectra.ingest.staged", "RawBatch.add"),
    ("connectra.ingest.staged", "ContactConverter.copy"),
    ("connectra.ingest.staged", "ContactConverter.convert"),
    ("connectra.ingest.staged", "ContactConverter.move_to_python"),
    ("connectra.ingest.staged", "StagedConverter.copy"),
    ("connectra.ingest.staged", "StagedConverter.convert"),
    ("connectra.ingest.staged", "StagedConverter.move_to_python"),
    ("connectra.ingest.staged_batches", "StagedBatches.flush"),
    ("connectra.ingest.staged_batches", "StagedBatches._parse"),
    ("connectra.ingest.staged_batches", "StagedBatches._load_python"),
    ("connectra.ingest.staged_batches", "StagedBatches._link_companies"),
    ("connectra.ingest.staged_batches", "StagedBatches._convert_and_load"),
    ("connectra.ingest.staged_direct", "DirectLoad.run"),
    ("connectra.ingest.staged_batches", "StagedBatches._convert"),
    ("connectra.ingest.staged_load", "StagedLoader.load"),
    ("connectra.ingest.staged_load", "StagedLoader.load_converted"),
    ("connectra.ingest.staged_load", "StagedLoader._ledger"),
    ("connectra.ingest.staged_load", "StagedLoader._resolve_owners"),
    ("connectra.ingest.staged_load", "StagedLoader._insert_new"),
    ("connectra.ingest.staged_load", "StagedLoader._lock"),
    ("connectra.ingest.staged_load", "StagedLoader._update_existing"),
    ("connectra.ingest.staged_load", "StagedLoader._enqueue"),
    ("connectra.ingest.staged_load", "StagedLoader._counts"),
    ("connectra.ingest.staged_load", "StagedLoader._count_filters"),
    ("connectra.ingest.load", "BatchLoader.load"),
    ("connectra.db.filter_counts", "FilterChanges.apply"),
    ("connectra.jobs.repository", "add_row_errors"),
    ("connectra.jobs.repository", "complete_chunk"),
]


class StepTimes:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


@contextmanager
def timed_steps(times: StepTimes) -> Iterator[None]:
    undo: list[tuple[Any, str, Any]] = []
    for module_name, path in STEPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue  # a module this version of the code does not have
        *owners, attribute = path.split(".")
        owner: Any = module
        for part in owners:
            owner = getattr(owner, part)
        original = owner.__dict__.get(attribute)
        if original is None:
            continue  # a step this version of the code does not have
        undo.append((owner, attribute, original))
        setattr(owner, attribute, times.wrap(path, original))
    try:
        yield
    finally:
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)


def profile_round(path: Path, contacts: int, chunk_size: int, database_url: str) -> dict[str, Any]:
    from connectra.local.pipeline import run_import

    job = _new_job(path, "contacts", chunk_size)
    times = StepTimes()
    cpu_before = database_cpu_seconds(database_url)
    started = time.perf_counter()
    with timed_steps(times):
        summary = run_import(job, workers=1)
    seconds = time.perf_counter() - started
    database_cpu = database_cpu_seconds(database_url) - cpu_before
    if summary.status != "completed" or summary.inserted != contacts:
        raise RuntimeError(f"the profiled import did not complete cleanly: {summary}")
    chunk_seconds = times.seconds.get("_run_in_transaction", seconds)
    steps = {
        name: {
            "seconds": round(value, 3),
            "share_of_chunks": round(value / chunk_seconds, 3),
            "us_per_row": round(value / contacts * 1e6, 2),
            "calls": times.calls[name],
        }
        for name, value in sorted(times.seconds.items(), key=lambda item: -item[1])
    }
    return {
        "seconds": round(seconds, 2),
        "rows_per_s": round(contacts / seconds),
        "chunk_seconds": round(chunk_seconds, 2),
        "chunk_us_per_row": round(chunk_seconds / contacts * 1e6, 2),
        "database_cpu_us_per_row": round(database_cpu / contacts * 1e6, 2),
        "steps": steps,
    }


# Emptied before each round (an older checkout may lack some: only the existing ones).
EMPTIED_TABLES = (
    "contacts",
    "filters_data",
    "search_outbox",
    "search_outbox_batches",
    "import_keys",
)


def _existing(database_url: str, tables: tuple[str, ...]) -> list[str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL",
            (list(tables),),
        ).fetchall()
    return [row[0] for row in found]


def _log_plans(database_url: str) -> None:
    """Every statement over 50 ms logs its plan with actual rows and buffers (the
    server's log: connectra.local.postgres's cluster `server.log`)."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for setting, value in (
            ("session_preload_libraries", "auto_explain"),
            ("auto_explain.log_min_duration", "50ms"),
            ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_buffers", "on"),
            ("auto_explain.log_triggers", "on"),
        ):
            conn.execute(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'")


VARIANTS = ("csv", "ndjson", "csv-python", "ndjson-python")


def _as_ndjson(contacts_csv: Path) -> Path:
    """The same records as NDJSON: one object of the non-empty cells per line."""
    path = contacts_csv.with_suffix(".ndjson")
    with contacts_csv.open(newline="", encoding="utf-8") as source, path.open("w") as target:
        for row in csv.DictReader(source):
            target.write(json.dumps({key: value for key, value in row.items() if value}) + "\n")
    return path


def _use_sql_path(variant: str) -> None:
    from connectra.settings import get_settings

    os.environ["INGEST_SQL_PATH"] = "false" if variant.endswith("-python") else "true"
    get_settings.cache_clear()


def run(
    contacts: int,
    rounds: int,
    chunk_mib: int,
    explain: bool = False,
    variants: tuple[str, ...] = ("csv",),
) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
    by_variant: dict[str, list[int]] = defaultdict(list)
    try:
        database_url = _fresh_database(DATABASE, "opensearch")
        if explain:
            _log_plans(database_url)
        _environment(database_url, endpoint, "opensearch")
        from connectra.local.pipeline import run_import
        from connectra.storage.s3 import get_store

        get_store().client.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory(prefix="connectra-profile-") as folder:
            companies_csv, contacts_csv = _generate(Path(folder), contacts)
            files = {"csv": contacts_csv}
            if any(variant.startswith("ndjson") for variant in variants):
                files["ndjson"] = _as_ndjson(contacts_csv)
            chunk_size = chunk_mib * MIB
            run_import(_new_job(companies_csv, "companies", chunk_size), 1)
            for _ in range(rounds):
                for variant in variants:  # alternated: the machine's noise hits each alike
                    _truncate(database_url, *_existing(database_url, EMPTIED_TABLES))
                    _use_sql_path(variant)
                    path = files[variant.removesuffix("-python")]
                    result = profile_round(path, contacts, chunk_size, database_url)
                    results.append({"variant": variant, **result})
                    by_variant[variant].append(result["rows_per_s"])
    finally:
        server.stop()
    medians = {variant: statistics.median(rates) for variant, rates in by_variant.items()}
    summary = {
        variant: {
            "median_rows_per_s": median,
            "ratio_to_first": round(median / medians[variants[0]], 2),
        }
        for variant, median in medians.items()
    }
    return {"contacts": contacts, "chunk_mib": chunk_mib, "rounds": results, "variants": summary}


def _write_split(log_file: Path, log_start: int, result: dict[str, Any]) -> None:
    """The direct statement's time by part, from the plans logged during this run."""
    if not log_file.exists():
        print(f"no server log at {log_file}: the split needs the private cluster")
        return
    with log_file.open("rb") as log:
        log.seek(log_start)
        logged = log.read().decode("utf-8", "replace")
    rounds = result["rounds"]
    cpu = sum(item["database_cpu_us_per_row"] for item in rounds) / len(rounds) if rounds else None
    table = direct_split.markdown(direct_split.split(logged), cpu)
    SPLIT_RESULT.write_text(
        "# Where the database time goes in the SQL path's statement per clean batch\n\n"
        f"`.venv/bin/python -m bench.ingest_profile --contacts {result['contacts']} "
        f"--rounds {len(rounds)} --explain` (OpenSearch configuration, "
        f"{result['chunk_mib']} MiB chunks, one worker).\n\n{table}"
    )
    print(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="the whole result as JSON")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="log slow statements' plans, and split the direct statement's time by part "
        f"(bench/direct_split.py, written to {SPLIT_RESULT}; the private cluster's log)",
    )
    parser.add_argument(
        "--variants",
        default="csv",
        help=f"comma-separated, alternated within each round: {', '.join(VARIANTS)}",
    )
    args = parser.parse_args(argv)
    variants = tuple(args.variants.split(","))
    if not set(variants) <= set(VARIANTS):
        parser.error(f"--variants: choose among {', '.join(VARIANTS)}")
    log_file = default_cluster().log_file
    log_start = log_file.stat().st_size if args.explain and log_file.exists() else 0
    result = run(args.contacts, args.rounds, args.chunk_mib, args.explain, variants)
    if args.explain:
        _write_split(log_file, log_start, result)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for index, item in enumerate(result["rounds"], 1):
        print(
            f"round {index} ({item['variant']}): {item['rows_per_s']} rows/s end to end, chunks "
            f"{item['chunk_us_per_row']} µs/row, database CPU {item['database_cpu_us_per_row']} "
            "µs/row"
        )
        for name, step in item["steps"].items():
            print(
                f"  {name:40s} {step['seconds']:8.3f} s {step['share_of_chunks']:6.1%} "
                f"{step['us_per_row']:8.2f} µs/row {step['calls']:6d} calls"
            )
    for variant, figures in result["variants"].items():
        print(
            f"{variant:14s} median {figures['median_rows_per_s']:>9,.0f} rows/s, "
            f"{figures['ratio_to_first']:.2f}x {variants[0]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
