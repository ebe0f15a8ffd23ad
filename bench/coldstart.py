"""API cold-start import time: importing the API handler module in a fresh interpreter.

Baseline in the same run: a bare FastAPI app wrapped by Mangum (the framework's own cost).
Each round times both, one after the other, so that both see the same machine load (other
work on a shared machine drifts over the seconds a run takes); the process CPU time of
each import is recorded beside its wall time, as it depends far less on that load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from statistics import median
from typing import Any

from bench.common import machine, write_result

ROOT = Path(__file__).resolve().parents[1]

# Each prints the wall and the process CPU seconds of the import.
START = "import time; t = time.perf_counter(); c = time.process_time(); "
END = "; print(time.perf_counter() - t, time.process_time() - c)"
OURS = "import sys; sys.path.insert(0, 'functions/api'); " + START + "import handler" + END
BASELINE = (
    START + "from fastapi import FastAPI; from mangum import Mangum; "
    "app = FastAPI(); h = Mangum(app, lifespan='off')" + END
)


def _time(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one import in a fresh interpreter."""
    env = dict(os.environ, POWERTOOLS_TRACE_DISABLED="true", PYTHONDONTWRITEBYTECODE="0")
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall, cpu = output.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def run(quick: bool = False) -> dict[str, Any]:
    repeats = 3 if quick else 7
    _time(OURS)  # warm the bytecode cache, as a deployed package ships .pyc files
    load_before = os.getloadavg()[0]
    ours, baseline = [], []
    for _ in range(repeats):
        ours.append(_time(OURS))
        baseline.append(_time(BASELINE))
    ours_wall, ours_cpu = (median(sample[i] for sample in ours) for i in (0, 1))
    base_wall, base_cpu = (median(sample[i] for sample in baseline) for i in (0, 1))
    result = {
        "quick": quick,
        "machine": machine(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "repeats": repeats,
        "api_handler_import_ms": round(ours_wall * 1000, 1),
        "baseline_fastapi_mangum_import_ms": round(base_wall * 1000, 1),
        "ratio_vs_baseline": round(ours_wall / base_wall, 2),
        "api_handler_import_cpu_ms": round(ours_cpu * 1000, 1),
        "baseline_fastapi_mangum_import_cpu_ms": round(base_cpu * 1000, 1),
        "cpu_ratio_vs_baseline": round(ours_cpu / base_cpu, 2),
    }
    write_result("coldstart", result)
    return result


if __name__ == "__main__":
    import json

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
