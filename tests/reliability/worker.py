"""A chunk worker in its own process, as a Lambda container runs one: `python -m
tests.reliability.worker SPEC.json`.

SPEC is `{"steps": [[step, event], ...]}` (each run with `pipeline.invoke`, the Lambda
event shapes) or `{"import": PlanInput}` (the whole pipeline in this process). One JSON
line is printed per result: `{"result": …, "maxrss_kb": …}`, with the peak resident set of
this process so far: the kernel's high-water mark (VmHWM), which starts afresh at exec.
(`ru_maxrss` does not: a child forked from a large parent, such as a test process holding a
48 MiB file and an in-process S3 server, inherits the parent's peak and reports it.)
Configuration comes from the environment (DATABASE_URL, S3_ENDPOINT_URL, S3_BUCKET, …).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))

from connectra.ingest.events import PlanInput  # noqa: E402
from connectra.local.pipeline import invoke, run_import  # noqa: E402


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    if "import" in spec:
        summary = run_import(PlanInput.model_validate(spec["import"]), workers=1)
        _emit(summary.model_dump(mode="json"))
    for step, event in spec.get("steps", []):
        _emit(invoke(step, event))
    return 0


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _emit(result: dict[str, object]) -> None:
    peak = peak_rss_kb()
    sys.stdout.write(json.dumps({"result": result, "maxrss_kb": peak}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
