#!/usr/bin/env python3
"""Build the common Lambda layer for python3.12 on arm64, without Docker.

    python3 scripts/build_layer.py [--output build/layer]

Result: build/layer/python/ = the runtime dependencies of pyproject.toml
([project].dependencies) as Linux aarch64 wheels, at the versions of requirements.lock
(the ones the tests ran: `make lock` writes it), + the `connectra` package; the CDK app
zips build/layer as the layer (Lambda puts python/ on sys.path as /opt/python).
Prints the unzipped and zipped sizes (Lambda's limit: 250 MB unzipped, layers and
function together).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PACKAGE_SOURCE = ROOT / "layers" / "common" / "python" / "connectra"
PYTHON_VERSION = "3.12"
# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 (glibc 2.17)
# and manylinux_2_28 wheels both run there; some projects publish only the latter.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# Parts of the package that never run in Lambda, as paths under connectra/: the CLI
# (typer), the local stack and its orchestration (moto, worker processes), and the
# reference evaluators the conformance tests compare the engines with.
PACKAGE_EXCLUDES = ("cli", "local", "vql/evaluate.py", "vql/aggregation_evaluate.py")
JUNK = ("__pycache__", "*.pyc", "tests", "*.egg-info")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies: list[str] = project["dependencies"]
    return dependencies


def platform_arguments() -> list[str]:
    """pip arguments selecting Lambda's wheels (python3.12, arm64), whatever the host."""
    return [
        *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
    ]


def install_dependencies(target: Path, requirements: list[str]) -> None:
    if not LOCK.exists():
        raise SystemExit(f"{LOCK.name} is missing: run `make lock`")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # the host's bytecode would be for the wrong Python version
        *platform_arguments(),
        "-c",
        str(LOCK),
        "--target",
        str(target),
        *requirements,
    ]
    subprocess.run(command, check=True)


def unlocked_versions(site: Path) -> dict[str, tuple[str, str | None]]:
    """Installed distributions whose version is not the locked one: {name: (got, locked)}."""
    locked = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            locked[_canonical(name)] = version
    found = {}
    for dist_info in site.glob("*.dist-info"):
        name, version = dist_info.name[: -len(".dist-info")].rsplit("-", 1)
        if locked.get(_canonical(name)) != version:
            found[_canonical(name)] = (version, locked.get(_canonical(name)))
    return found


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _ignored(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's filter: junk anywhere, PACKAGE_EXCLUDES by their path."""
    junk = shutil.ignore_patterns(*JUNK)(folder, names)
    relative = Path(folder).relative_to(PACKAGE_SOURCE)
    return junk | {name for name in names if (relative / name).as_posix() in PACKAGE_EXCLUDES}


def copy_package(target: Path) -> None:
    shutil.copytree(PACKAGE_SOURCE, target / "connectra", ignore=_ignored)


def remove_junk(root: Path) -> None:
    # Console scripts carry the build host's interpreter path: useless on Lambda.
    shutil.rmtree(root / "bin", ignore_errors=True)
    for cache in list(root.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for compiled in root.rglob("*.pyc"):
        compiled.unlink()


def sizes(root: Path) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of the folder, zipped as CDK would."""
    files = [path for path in root.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return unzipped, buffer.tell()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "layer")
    args = parser.parse_args(argv)
    output: Path = args.output
    site = output / "python"

    shutil.rmtree(output, ignore_errors=True)
    site.mkdir(parents=True)
    install_dependencies(site, runtime_dependencies())
    if not any((PACKAGE_SOURCE / "api" / "static").glob("*.js")):
        sys.stderr.write("error: the /docs assets are missing: run `make assets`\n")
        return 1
    mismatched = unlocked_versions(site)
    if mismatched:
        sys.stderr.write(f"error: not the locked versions (got, locked): {mismatched}\n")
        return 1
    copy_package(site)
    remove_junk(site)

    unzipped, zipped = sizes(output)
    mib = 1024 * 1024
    sys.stdout.write(f"layer: {site}\n")
    sys.stdout.write(f"unzipped: {unzipped / mib:.1f} MiB   zipped: {zipped / mib:.1f} MiB\n")
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        sys.stderr.write("error: over Lambda's 250 MB unzipped limit\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
