"""API cold-start import time: importing the API handler module in a fresh interpreter.

Baseline in the same run: a bare FastAPI app wrapped by Mangum (the framework's own cost).
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

OURS = (
    "import sys, time; sys.path.insert(0, 'functions/api'); t = time.perf_counter(); "
    "import handler; print(time.perf_counter() - t)"
)
BASELINE = (
    "import time; t = time.perf_counter(); from fastapi import FastAPI; from mangum import Mangum; "
    "app = FastAPI(); h = Mangum(app, lifespan='off'); print(time.perf_counter() - t)"
)


def _time(code: str, repeats: int) -> list[float]:
    env = dict(os.environ, POWERTOOLS_TRACE_DISABLED="true", PYTHONDONTWRITEBYTECODE="0")
    samples = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(float(output.strip().splitlines()[-1]))
    return samples


def run(quick: bool = False) -> dict[str, Any]:
    repeats = 3 if quick else 7
    _time(OURS, 1)  # warm the bytecode cache, as a deployed package ships .pyc files
    ours, baseline = _time(OURS, repeats), _time(BASELINE, repeats)
    result = {
        "machine": machine(),
        "repeats": repeats,
        "api_handler_import_ms": round(median(ours) * 1000, 1),
        "baseline_fastapi_mangum_import_ms": round(median(baseline) * 1000, 1),
        "ratio_vs_baseline": round(median(ours) / median(baseline), 2),
    }
    write_result("coldstart", result)
    return result


if __name__ == "__main__":
    import json

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
