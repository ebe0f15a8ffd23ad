"""Functions: runtime, VPC placement, own least-privilege role, clean code assets, layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack

from infra import constants
from infra.constructs import functions as function_constructs
from tests.infra.conftest import Synthesized

OUR_HANDLERS = {spec.handler: spec for spec in constants.ALL_FUNCTIONS}


def _our_functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Our functions by construct id (CDK's own provider functions are left out)."""
    found = {}
    for logical_id, resource in synth.resources(
        constants.APP_STACK, "AWS::Lambda::Function"
    ).items():
        for spec in constants.ALL_FUNCTIONS:
            if spec.construct_id in logical_id and "Role" not in logical_id:
                found[spec.construct_id] = resource
    return found


def _statements(synth: Synthesized, function: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in synth.resources(constants.APP_STACK, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def test_every_function_is_python312_arm64_traced_with_the_layer(any_env: Synthesized) -> None:
    functions = _our_functions(any_env)

    assert set(functions) == {spec.construct_id for spec in constants.ALL_FUNCTIONS}
    for construct_id, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.12", construct_id
        assert properties["Architectures"] == ["arm64"], construct_id
        assert properties["TracingConfig"] == {"Mode": "Active"}, construct_id
        assert len(properties["Layers"]) == 1, construct_id
        variables = properties["Environment"]["Variables"]
        assert variables[constants.ENV_POWERTOOLS_METRICS_NAMESPACE] == "Connectra"
        assert variables[constants.ENV_POWERTOOLS_SERVICE_NAME] == constants.PROJECT
        assert constants.ENV_DB_SECRET_ARN in variables
        assert constants.ENV_DB_HOST in variables


def test_every_function_runs_in_the_private_subnets(any_env: Synthesized) -> None:
    for construct_id, function in _our_functions(any_env).items():
        vpc_config = function["Properties"]["VpcConfig"]
        subnets = [str(subnet) for subnet in vpc_config["SubnetIds"]]
        assert subnets, construct_id
        assert all(constants.APP_SUBNET_GROUP in subnet for subnet in subnets), subnets
        (security_group,) = vpc_config["SecurityGroupIds"]
        assert "ClientSecurityGroup" in str(security_group), construct_id


def test_sizes_and_timeouts_come_from_constants(dev: Synthesized) -> None:
    functions = _our_functions(dev)
    for spec in constants.ALL_FUNCTIONS:
        properties = functions[spec.construct_id]["Properties"]
        assert properties["MemorySize"] == spec.memory_mb
        assert properties["Timeout"] == spec.timeout_seconds
        assert properties["Handler"] == spec.handler


def test_each_function_has_its_own_role(dev: Synthesized) -> None:
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in _our_functions(dev).values()]
    assert len(roles) == len(set(roles)) == len(constants.ALL_FUNCTIONS)
    for logical_id, role in dev.resources(constants.APP_STACK, "AWS::IAM::Role").items():
        # Our roles carry our own statements only (no broad AWS-managed policies); the
        # CDK Trigger provider's role is CDK's, and the account's API Gateway CloudWatch
        # role uses the managed policy API Gateway documents.
        if not logical_id.startswith(("AWSCDKTrigger", "ApiRestApiCloudWatchRole")):
            assert "ManagedPolicyArns" not in role["Properties"], logical_id


def test_s3_access_is_scoped_to_prefixes_and_never_wildcard_actions(any_env: Synthesized) -> None:
    prefixes = (
        constants.UPLOADS_PREFIX,
        constants.EXPORTS_PREFIX,
        constants.REPORTS_PREFIX,
        constants.MANIFESTS_PREFIX,
    )
    for construct_id, function in _our_functions(any_env).items():
        for statement in _statements(any_env, function):
            actions = _actions([statement])
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), construct_id
            if any(action.startswith("s3:") for action in actions):
                resource = json.dumps(statement["Resource"])
                assert any(f'{prefix}*"' in resource for prefix in prefixes), (
                    construct_id,
                    resource,
                )


def test_least_privilege_of_the_pipeline_functions(dev: Synthesized) -> None:
    functions = _our_functions(dev)

    count = _actions(_statements(dev, functions[constants.INGEST_COUNT_FUNCTION.construct_id]))
    # The quote counter only reads bytes of the upload: no database, no state machines.
    assert "s3:GetObject" in count
    assert not {a for a in count if a.startswith(("secretsmanager:", "states:", "s3:Put"))}

    start_statements = _statements(dev, functions[constants.INGEST_START_FUNCTION.construct_id])
    (start_execution,) = [s for s in start_statements if s["Action"] == "states:StartExecution"]
    assert constants.INGEST_STATE_MACHINE_ID in json.dumps(start_execution["Resource"])
    assert constants.EXPORT_STATE_MACHINE_ID not in json.dumps(start_execution["Resource"])

    chunk = _actions(_statements(dev, functions[constants.INGEST_CHUNK_FUNCTION.construct_id]))
    assert "secretsmanager:GetSecretValue" in chunk
    assert not {a for a in chunk if a.startswith(("states:", "s3:Put"))}


def test_function_code_assets_exclude_tests_and_caches(tmp_path: Path) -> None:
    # Given a function folder with tests, caches and a handler
    folder = tmp_path / "functions" / "demo"
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "test_handler.py").write_text("def test(): pass\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0")
    (folder / "sub" / "__pycache__").mkdir(parents=True)
    (folder / "sub" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (folder / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (folder / "sub" / "logic.py").write_text("VALUE = 1\n")

    # When it becomes a Lambda code asset and the app is synthesized
    app = App(outdir=str(tmp_path / "out"))
    stack = Stack(app, "AssetProbe")
    code = function_constructs.function_code(folder)
    from aws_cdk import aws_lambda as lambda_

    lambda_.Function(
        stack, "Probe", runtime=lambda_.Runtime.PYTHON_3_12, handler="handler.handler", code=code
    )
    app.synth()

    # Then the staged asset holds the handler modules only
    (staged,) = [p for p in (tmp_path / "out").iterdir() if p.name.startswith("asset.")]
    files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
    assert files == ["handler.py", "sub/logic.py"]


def test_synthesized_function_assets_hold_no_tests_or_caches(dev: Synthesized) -> None:
    staged = [p for p in dev.outdir.iterdir() if p.name.startswith("asset.") and p.is_dir()]
    assert staged
    for asset in staged:
        for path in asset.rglob("*"):
            assert path.name not in ("__pycache__", "tests", ".pytest_cache"), path
            assert path.suffix != ".pyc", path


def test_layer_is_arm64_python312_and_comes_from_the_sources_in_tests(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleArchitectures": ["arm64"], "CompatibleRuntimes": ["python3.12"]},
    )
    layers = [p for p in dev.outdir.iterdir() if (p / "python" / "connectra").is_dir()]
    assert len(layers) == 1
    assert (layers[0] / "python" / "connectra" / "settings.py").is_file()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (constants.LAYER_SOURCE_SOURCE, constants.LAYER_SOURCE_DIR),
        (constants.LAYER_SOURCE_BUILD, constants.LAYER_BUILD_DIR),
    ],
)
def test_layer_source_flag_picks_the_folder(source: str, expected: Path) -> None:
    assert function_constructs.layer_directory(source) == expected


def test_unknown_layer_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="layer_source"):
        function_constructs.layer_directory("docker")


def test_every_function_but_migrate_is_updated_after_the_migrations_ran(
    dev: Synthesized,
) -> None:
    """A release's queries may name what its migrations create: the functions that run
    them wait for the migrations trigger (CDK Trigger `execute_before`)."""
    template = dev.raw(constants.APP_STACK)["Resources"]
    (trigger,) = [
        logical_id
        for logical_id, resource in template.items()
        if resource["Type"] == "Custom::Trigger"
    ]
    for construct_id, function in _our_functions(dev).items():
        depends_on = function.get("DependsOn", [])
        if construct_id == constants.MIGRATE_FUNCTION.construct_id:
            assert trigger not in depends_on  # the trigger invokes it
        else:
            assert trigger in depends_on, construct_id
