"""The CDK CLI is the one package-lock.json pins, and docs/deploy.md's synth runs verbatim.

aws-cdk-lib writes cloud-assembly schema 55; CLI 3.x refuses it and a global `cdk` may be
any version, so the docs call `npx cdk` (node_modules/.bin/cdk, `make node` installs it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from infra import constants

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
CLI_MAJOR_MINOR = "2.1148."


def documented(prefix: str) -> list[str]:
    """The command lines of docs/deploy.md's shell blocks that start with `prefix`."""
    commands: list[str] = []
    in_block = False
    for line in DEPLOY_DOC.read_text().splitlines():
        if line.startswith("```"):
            in_block = line.strip() in ("```bash", "```sh")
            continue
        command = line.split("#", 1)[0].strip()
        if in_block and command.startswith(prefix):
            commands.append(command)
    return commands


def run(command: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CI": "true"}
    return subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def test_the_cli_is_pinned_in_package_json_and_its_lock() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert package["devDependencies"]["aws-cdk"].lstrip("~^").startswith(CLI_MAJOR_MINOR)
    assert lock["packages"]["node_modules/aws-cdk"]["version"].startswith(CLI_MAJOR_MINOR)


def test_npx_runs_the_pinned_cli() -> None:
    completed = run("npx --no-install cdk --version", timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().startswith(CLI_MAJOR_MINOR), completed.stdout


def test_the_docs_synthesize_with_npx_and_name_every_environment() -> None:
    commands = documented("npx cdk synth")
    assert commands, "docs/deploy.md shows no `npx cdk synth`"
    assert not documented("cdk "), "a bare `cdk` runs whatever CLI is on the PATH"
    environments = {env for command in commands for env in re.findall(r"env=(\w+)", command)}
    assert environments == set(constants.ENVIRONMENT_NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("environment", constants.ENVIRONMENT_NAMES)
def test_the_documented_synth_runs(environment: str, tmp_path: Path) -> None:
    # The synth of section 2 (the SAM section's asks for a built layer).
    (command,) = [
        c
        for c in documented("npx cdk synth")
        if f"env={environment}" in c and "layer_source" not in c
    ]
    # Verbatim, into a private output folder (parallel test workers).
    completed = run(f"{command} --output {tmp_path}")

    assert completed.returncode == 0, completed.stderr[-3000:]
    for concern in ("network", "data", "app"):
        assert (tmp_path / f"connectra-{environment}-{concern}.template.json").is_file()
