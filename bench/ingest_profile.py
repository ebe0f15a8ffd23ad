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
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

DATABASE = "connectra_bench_ingest_profile"

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


def run(contacts: int, rounds: int, chunk_mib: int, explain: bool = False) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
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
            chunk_size = chunk_mib * MIB
            run_import(_new_job(companies_csv, "companies", chunk_size), 1)
            for _ in range(rounds):
                _truncate(database_url, *_existing(database_url, EMPTIED_TABLES))
                results.append(profile_round(contacts_csv, contacts, chunk_size, database_url))
    finally:
        server.stop()
    return {"contacts": contacts, "chunk_mib": chunk_mib, "rounds": results}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="the whole result as JSON")
    parser.add_argument("--explain", action="store_true", help="log slow statements' plans")
    args = parser.parse_args(argv)
    result = run(args.contacts, args.rounds, args.chunk_mib, args.explain)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for index, item in enumerate(result["rounds"], 1):
        print(
            f"round {index}: {item['rows_per_s']} rows/s end to end, chunks "
            f"{item['chunk_us_per_row']} µs/row, database CPU {item['database_cpu_us_per_row']} "
            "µs/row"
        )
        for name, step in item["steps"].items():
            print(
                f"  {name:40s} {step['seconds']:8.3f} s {step['share_of_chunks']:6.1%} "
                f"{step['us_per_row']:8.2f} µs/row {step['calls']:6d} calls"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
