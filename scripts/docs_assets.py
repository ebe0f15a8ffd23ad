#!/usr/bin/env python3
"""Copy the API docs assets (Swagger UI, ReDoc) from node_modules into the package.

    make assets        # after `npm ci` (make node); make venv runs it

The app serves /docs and /redoc with these files (connectra.api.docs), never from a
CDN: the pages work offline, behind a strict content-security policy, and in Lambda
(scripts/build_layer.py ships them in the layer). The versions are package-lock.json's.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "layers" / "common" / "python" / "connectra" / "api" / "static"
ASSETS = {
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
    "swagger-ui-dist/favicon-32x32.png": "favicon-32x32.png",
    "redoc/bundles/redoc.standalone.js": "redoc.standalone.js",
}


def main() -> int:
    missing = [source for source in ASSETS if not (NODE_MODULES / source).is_file()]
    if missing:
        sys.stderr.write(f"error: {missing} not in node_modules: run `make node` (npm ci)\n")
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for source, name in ASSETS.items():
        target = TARGET / name
        if not target.exists() or target.stat().st_mtime < (NODE_MODULES / source).stat().st_mtime:
            shutil.copyfile(NODE_MODULES / source, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
