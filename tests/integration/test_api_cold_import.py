"""The API handler's cold import (issue 13): what a fresh interpreter loads to build the
app, and the garbage collector it leaves running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
sys.path.insert(0, "functions/api")
import handler
print(json.dumps({
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "modules": sorted(sys.modules),
}))
"""

# Loaded on the first request that needs them, never to declare a route.
ON_USE_ONLY = [
    "psycopg_pool",  # the pool opens on the first connection
    "connectra.ingest.mapping",  # the mapping check and the CSV parser behind it
    "connectra.ingest.parse",
    "connectra.ingest.dry_run",
    "connectra.export.pages",  # an export's row count
    "aws_xray_sdk",  # the Tracer, built on the first invocation
]


def _probe() -> dict[str, object]:
    env = dict(os.environ, POWERTOOLS_TRACE_DISABLED="true")
    output = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result


def test_the_handler_import_loads_no_module_only_a_request_needs() -> None:
    modules = _probe()["modules"]
    assert isinstance(modules, list)
    assert [name for name in ON_USE_ONLY if name in modules] == []
    assert "connectra.api.app" in modules


def test_the_handler_import_leaves_the_collector_on_with_the_built_app_frozen() -> None:
    probe = _probe()
    assert probe["gc_enabled"] is True
    # The app's objects are out of the collector's sight (gc.freeze), not just created.
    frozen = probe["frozen"]
    assert isinstance(frozen, int) and frozen > 50_000
