"""Lambda package sizes: the common layer (dependencies + library) and each function asset.

Baseline: Lambda's own limits (250 MB unzipped for function + layers, 50 MB zipped upload).
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

from bench.common import machine, write_result

ROOT = Path(__file__).resolve().parents[1]
UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_LIMIT = 50 * 1024 * 1024
EXCLUDED = ("__pycache__", ".pyc", "tests")


def _files(folder: Path) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part in str(path) for part in EXCLUDED)
    ]


def folder_sizes(folder: Path) -> dict[str, int]:
    files = _files(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder))
    return {
        "unzipped_bytes": sum(path.stat().st_size for path in files),
        "zipped_bytes": buffer.tell(),
    }


def run(quick: bool = False) -> dict[str, Any]:
    built_layer = ROOT / "build" / "layer"
    layer_folder = built_layer if built_layer.exists() else ROOT / "layers" / "common"
    layer: dict[str, Any] = {**folder_sizes(layer_folder)}
    layer["source"] = (
        "build/layer (arm64 wheels + library)"
        if built_layer.exists()
        else "layers/common (library only: run scripts/build_layer to include dependencies)"
    )
    functions = {
        folder.name: folder_sizes(folder)
        for folder in sorted((ROOT / "functions").iterdir())
        if folder.is_dir()
    }
    result = {
        "quick": quick,
        "machine": machine(),
        "layer": layer,
        "functions": functions,
        "limits": {"unzipped_bytes": UNZIPPED_LIMIT, "zipped_bytes": ZIPPED_LIMIT},
        "layer_fraction_of_unzipped_limit": round(layer["unzipped_bytes"] / UNZIPPED_LIMIT, 4),
    }
    write_result("sizes", result)
    return result


if __name__ == "__main__":
    import json

    json.dump(run("--quick" in sys.argv), sys.stdout, indent=2)
