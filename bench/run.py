"""`make bench`: every benchmark of SPEC §10 in one run, then the report.

Each benchmark module exposes `run(quick) -> dict` and writes `bench/results/<name>.json`;
this runner collects them into `latest.json`, writes `report.md` and the PNG charts.
`--quick` uses small data sets (under 3 minutes); the full run names its sizes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

from bench.common import machine, results_dir

# Order matters: the load test needs the local stack, started last.
BENCHMARKS = (
    "sizes",
    "coldstart",
    "ingest",
    "combined",
    "search",
    "budget",
    "aggregate",
    "dsl",
    "load",
)


def run_all(quick: bool, only: list[str] | None) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "benchmarks": {}}
    for name in BENCHMARKS:
        if only and name not in only:
            continue
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            if name == "load":
                outcome = _with_local_stack(module, quick)
            else:
                outcome = module.run(quick=quick)
            results["benchmarks"][name] = outcome
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results["benchmarks"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"bench {name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return results


LOAD_API_PORT = int(os.environ.get("BENCH_API_PORT", "18100"))
LOAD_S3_PORT = int(os.environ.get("BENCH_S3_PORT", "15101"))


def _with_local_stack(module: Any, quick: bool) -> dict[str, Any]:
    """Serve the API on its own ports over the search benchmark's database, then stop it."""
    import os
    import subprocess

    from connectra.local import postgres

    server = postgres.server_url()
    database = postgres.with_database(server, "connectra_bench")
    env = dict(
        os.environ,
        DATABASE_URL=database,
        API_PORT=str(LOAD_API_PORT),
        LOCAL_S3_PORT=str(LOAD_S3_PORT),
        LOCAL_RUN_DIR=str(postgres.project_root() / ".local" / "bench-run"),
        S3_BUCKET="connectra-bench-load",
        # The ingest benchmark switches its own process to the OpenSearch configuration.
        SEARCH_BACKEND="postgres",
        RATE_LIMIT_PER_MINUTE="100000000",
        RATE_LIMIT_BURST="100000",
    )
    command = [sys.executable, "-m", "connectra.local.stack"]
    try:
        subprocess.run([*command, "up"], env=env, check=True, capture_output=True)
        result: dict[str, Any] = module.run(
            quick=quick, base_url=f"http://127.0.0.1:{LOAD_API_PORT}"
        )
    finally:
        subprocess.run([*command, "down"], env=env, check=False, capture_output=True)
    result["database"] = "connectra_bench (the search benchmark's data)"
    return result


def _include_earlier_results(results: dict[str, Any]) -> None:
    """With --only, the report still shows the other benchmarks' latest results (dated)."""
    for name in BENCHMARKS:
        path = results_dir(bool(results["quick"])) / f"{name}.json"
        if name in results["benchmarks"] or not path.exists():
            continue
        earlier = json.loads(path.read_text())
        earlier["from_earlier_run"] = (earlier.get("machine") or {}).get("when", "unknown")
        results["benchmarks"][name] = earlier


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data sets, < 3 minutes")
    parser.add_argument("--only", nargs="*", help=f"a subset of {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    results = run_all(args.quick, args.only)
    _include_earlier_results(results)
    latest = results_dir(args.quick) / "latest.json"
    latest.write_text(json.dumps(results, indent=2, default=str) + "\n")
    from bench.report import write_report

    report = write_report(results)
    print(f"results: {latest}\nreport:  {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
