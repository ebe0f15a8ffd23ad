"""The Lambda layer ships runtime code only: no test oracles, no local stack, no CLI.

Builds the layer's `connectra` folder as scripts/build_layer.py does (without installing
the dependencies), lists its modules and reads every import statement in them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from build_layer import copy_package, remove_junk  # noqa: E402

# Modules that exist for the tests or the laptop only.
NOT_RUNTIME = (
    "connectra.cli",
    "connectra.local",
    "connectra.vql.evaluate",
    "connectra.vql.aggregation_evaluate",
)
# Packages of the local, infra and dev extras: none is in the layer.
NOT_IN_LAYER = (
    "moto",
    "uvicorn",
    "httpx",
    "rich",
    "typer",
    "pytest",
    "hypothesis",
    "schemathesis",
    "aws_cdk",
    "constructs",
    "cdk_nag",
    "matplotlib",
    "psutil",
    "tests",
    "bench",
)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


@pytest.fixture(scope="module")
def layer_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    site = tmp_path_factory.mktemp("layer") / "python"
    copy_package(site)
    remove_junk(site)
    return {
        ".".join(path.relative_to(site).with_suffix("").parts).removesuffix(".__init__"): path
        for path in site.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_layer_holds_the_runtime_packages(layer_modules: dict[str, Path]) -> None:
    expected = {"connectra.api.app", "connectra.orchestration.sweeper", "connectra.vql.sql"}
    assert expected <= set(layer_modules)


def test_no_test_oracle_or_local_only_module_is_in_the_layer(
    layer_modules: dict[str, Path],
) -> None:
    shipped = sorted(name for name in layer_modules if _under(name, NOT_RUNTIME))
    assert shipped == []


def test_no_layer_module_imports_what_the_layer_does_not_ship(
    layer_modules: dict[str, Path],
) -> None:
    unshipped = {
        name: sorted(
            imported
            for imported in _imports(path)
            if _under(imported, NOT_RUNTIME) or _under(imported, NOT_IN_LAYER)
        )
        for name, path in layer_modules.items()
    }
    assert {name: found for name, found in unshipped.items() if found} == {}
