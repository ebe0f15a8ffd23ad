"""CDK entry point: `cdk synth -c env=dev` (or `python3 infra/app.py`, which reads cdk.json).

Usage: cdk deploy --all -c env=dev|staging|prod [-c layer_source=build|source|auto]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii's Node.js support banner is noise in every synth; the node it runs is ours to pick.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# Run as a script, sys.path[0] is infra/, where our `constructs` folder would shadow the
# `constructs` library; the repository root (where `infra` is a package) replaces it.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from infra.application import build_app  # noqa: E402

if __name__ == "__main__":
    build_app(outdir=os.environ.get("CDK_OUTDIR") or "cdk.out").synth()
