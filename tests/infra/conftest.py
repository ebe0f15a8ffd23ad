"""Synthesize each environment once per test session, offline, with the source layer."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a Node.js support banner on every start; it says nothing about our code.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import assertions, cx_api

from infra import constants, naming
from infra.application import build_app
from infra.config import EnvironmentConfig, environment_config, load_cdk_json

CONCERNS = (constants.NETWORK_STACK, constants.DATA_STACK, constants.APP_STACK)
# As docs/deploy.md deploys: staging and prod refuse to synthesize without a subscriber.
ALARM_EMAIL = "oncall@example.com"


@dataclass
class Synthesized:
    """One environment's cloud assembly, parsed once."""

    config: EnvironmentConfig
    assembly: cx_api.CloudAssembly
    outdir: Path

    def artifact(self, concern: str) -> cx_api.CloudFormationStackArtifact:
        return self.assembly.get_stack_by_name(naming.stack_name(self.config.name, concern))

    def template(self, concern: str) -> assertions.Template:
        return assertions.Template.from_json(self.artifact(concern).template)

    def raw(self, concern: str) -> dict[str, Any]:
        template: dict[str, Any] = self.artifact(concern).template
        return template

    def resources(self, concern: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw(concern)["Resources"].items()
            if resource["Type"] == resource_type
        }


_cache: dict[str, Synthesized] = {}


def synthesize(environment: str, outdir: Path) -> Synthesized:
    if environment not in _cache:
        context = load_cdk_json()
        context[constants.CONTEXT_ENV] = environment
        context[constants.CONTEXT_LAYER_SOURCE] = constants.LAYER_SOURCE_SOURCE
        context["alarm_email"] = ALARM_EMAIL
        assembly = build_app(context=context, outdir=outdir / environment).synth()
        config = environment_config(context[constants.CONTEXT_ENVIRONMENTS], environment)
        _cache[environment] = Synthesized(config, assembly, outdir / environment)
    return _cache[environment]


@pytest.fixture(scope="session")
def cdk_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session", params=constants.ENVIRONMENT_NAMES)
def any_env(request: pytest.FixtureRequest, cdk_outdir: Path) -> Synthesized:
    """Each environment in turn (tests using it run once per environment)."""
    return synthesize(request.param, cdk_outdir)


@pytest.fixture(scope="session")
def dev(cdk_outdir: Path) -> Synthesized:
    return synthesize("dev", cdk_outdir)


@pytest.fixture(scope="session")
def prod(cdk_outdir: Path) -> Synthesized:
    return synthesize("prod", cdk_outdir)


def state_machine_definition(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    """The ASL of a state machine, with CloudFormation tokens replaced by a marker."""
    machines = synth.resources(constants.APP_STACK, "AWS::StepFunctions::StateMachine")
    (resource,) = [r for logical_id, r in machines.items() if construct_id in logical_id]
    body = resource["Properties"]["DefinitionString"]
    if isinstance(body, dict):
        parts = body["Fn::Join"][1]
        body = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    definition: dict[str, Any] = json.loads(body)
    return definition


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state, including those inside Map item processors, by name."""
    states: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        states[name] = state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            states.update(all_states(processor))
    return states
