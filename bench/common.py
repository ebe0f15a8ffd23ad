"""Shared helpers of the benchmarks: percentiles, result files, the bench database."""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): a value that was actually observed."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples_seconds: Sequence[float]) -> dict[str, float]:
    millis = [sample * 1000 for sample in samples_seconds]
    return {
        "p50_ms": round(percentile(millis, 0.50), 3),
        "p95_ms": round(percentile(millis, 0.95), 3),
        "p99_ms": round(percentile(millis, 0.99), 3),
        "n": len(millis),
    }


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def results_dir(quick: bool) -> Path:
    """Where a run writes: bench/results, or bench/results/quick for `--quick` runs (small
    data sets, whose figures must not replace the full runs')."""
    folder = RESULTS / "quick" if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_result(name: str, result: dict[str, Any]) -> Path:
    path = results_dir(bool(result.get("quick"))) / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
