"""One lock file: the tests run, and the Lambda layer ships, the versions it pins.

requirements.lock is written by `make lock` (scripts/lock.py); `make venv` installs with
it as constraints and scripts/build_layer.py builds the layer with it (and refuses a
layer whose installed versions differ).
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from build_layer import runtime_dependencies  # noqa: E402
from lock import canonical, layer_versions, read_lock  # noqa: E402


def test_every_runtime_dependency_is_locked() -> None:
    locked = read_lock()
    for requirement in runtime_dependencies():
        name = canonical(requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0])
        assert name in locked, f"{name}: run `make lock` after changing pyproject.toml"


def test_the_test_environment_runs_the_locked_versions() -> None:
    locked = read_lock()
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
    }
    differing = {
        name: (installed[name], version)
        for name, version in locked.items()
        if name in installed and installed[name] != version
    }
    assert differing == {}, f"(installed, locked): {differing}; run `make venv`"


@pytest.mark.slow
def test_the_layer_resolves_exactly_the_locked_versions() -> None:
    """pip's resolution for python3.12 arm64 wheels under the lock, as build_layer runs it
    (a dry run: nothing is downloaded beyond the index and metadata)."""
    locked = read_lock()

    resolved = layer_versions(locked)

    assert {"fastapi", "starlette", "pydantic", "psycopg-binary"} <= set(resolved)
    unlocked = {name: version for name, version in resolved.items() if name not in locked}
    differing = {
        name: (version, locked[name])
        for name, version in resolved.items()
        if name in locked and locked[name] != version
    }
    assert unlocked == {} and differing == {}, (unlocked, differing)
