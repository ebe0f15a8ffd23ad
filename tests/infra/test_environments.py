"""Every environment synthesizes offline, passes cdk-nag and cfn-lint, follows its context."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import assertions
from cfnlint import api as cfnlint_api

from infra import constants, naming
from infra.config import EnvironmentConfig, environment_config, load_cdk_json
from tests.infra.conftest import CONCERNS, Synthesized


def test_each_environment_synthesizes_network_data_and_app_stacks(any_env: Synthesized) -> None:
    names = {stack.stack_name for stack in any_env.assembly.stacks}

    assert names == {naming.stack_name(any_env.config.name, concern) for concern in CONCERNS}
    for concern in CONCERNS:
        assert (
            any_env.outdir / f"{naming.stack_name(any_env.config.name, concern)}.template.json"
        ).is_file()


def test_cdk_nag_reports_no_unsuppressed_findings(any_env: Synthesized) -> None:
    # Given the AwsSolutions checks attached to every stack
    # When the environment is synthesized
    # Then no stack carries an error annotation (an unsuppressed finding)
    errors = [
        f"{message.id}: {message.entry.data}"
        for stack in any_env.assembly.stacks
        for message in stack.messages
        if message.level.name == "ERROR"
    ]
    assert errors == []


def test_cdk_nag_runs_on_every_stack(any_env: Synthesized) -> None:
    # Suppressions are recorded in template metadata only when the checks are attached.
    for concern in CONCERNS:
        template = any_env.raw(concern)
        suppressed = [
            resource
            for resource in template["Resources"].values()
            if "cdk_nag" in resource.get("Metadata", {})
        ]
        assert suppressed, f"no cdk-nag metadata in the {concern} stack"


def test_every_suppression_gives_a_reason(any_env: Synthesized) -> None:
    for concern in CONCERNS:
        for resource in any_env.raw(concern)["Resources"].values():
            for rule in (
                resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            ):
                assert len(rule["reason"]) >= 20, rule


def test_cfn_lint_reports_no_errors(any_env: Synthesized) -> None:
    for concern in CONCERNS:
        path = Path(any_env.artifact(concern).template_full_path)
        matches = cfnlint_api.lint_file(path)
        errors = [str(match) for match in matches if match.rule.id.startswith("E")]
        assert errors == [], f"{path.name}: {errors}"


def test_opensearch_exists_only_with_the_opensearch_backend(any_env: Synthesized) -> None:
    domains = any_env.resources(constants.DATA_STACK, "AWS::OpenSearchService::Domain")
    environment = _api_function_environment(any_env)

    if any_env.config.uses_opensearch:
        (domain,) = domains.values()
        properties = domain["Properties"]
        assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
        assert properties["EncryptionAtRestOptions"]["Enabled"] is True
        assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
        assert "VPCOptions" in properties
        assert "AccessPolicies" not in properties  # IAM identity policies only
        assert environment[constants.ENV_OPENSEARCH_AUTH] == "sigv4"
    else:
        assert domains == {}
        assert constants.ENV_OPENSEARCH_URL not in environment
    assert environment[constants.ENV_SEARCH_BACKEND] == any_env.config.search_backend


def test_database_is_encrypted_private_and_behind_a_proxy(any_env: Synthesized) -> None:
    template = any_env.template(constants.DATA_STACK)
    config = any_env.config

    template.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": assertions.Match.object_like(
                {
                    "Engine": "postgres",
                    "StorageEncrypted": True,
                    "PubliclyAccessible": False,
                    "MultiAZ": config.db_multi_az,
                    "DeletionProtection": config.deletion_protection,
                    "BackupRetentionPeriod": config.db_backup_retention_days,
                    "DBInstanceClass": f"db.{config.db_instance_type}",
                }
            ),
            "DeletionPolicy": {"destroy": "Delete", "snapshot": "Snapshot", "retain": "Retain"}[
                config.removal_policy
            ],
        },
    )
    template.has_resource_properties(
        "AWS::RDS::DBProxy", {"RequireTLS": True, "EngineFamily": "POSTGRESQL"}
    )
    # The owner's (migrations) and the app role's (everything else).
    template.resource_count_is("AWS::SecretsManager::Secret", 2)


def test_vpc_has_no_internet_route_and_has_the_endpoints(any_env: Synthesized) -> None:
    template = any_env.template(constants.NETWORK_STACK)

    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    endpoints = any_env.resources(constants.NETWORK_STACK, "AWS::EC2::VPCEndpoint").values()
    services = {str(endpoint["Properties"]["ServiceName"]) for endpoint in endpoints}
    for service in ("s3", "secretsmanager", "states", "logs", "xray"):
        assert any(service in name for name in services), f"no {service} endpoint in {services}"


def test_context_of_every_environment_parses() -> None:
    environments = load_cdk_json()[constants.CONTEXT_ENVIRONMENTS]

    assert set(environments) == set(constants.ENVIRONMENT_NAMES)
    for name in constants.ENVIRONMENT_NAMES:
        assert isinstance(environment_config(environments, name), EnvironmentConfig)


def test_invalid_context_is_rejected() -> None:
    environments = load_cdk_json()[constants.CONTEXT_ENVIRONMENTS]
    broken = dict(environments["dev"], map_tolerated_failure_percentage=150)

    with pytest.raises(ValueError, match="percentage"):
        environment_config({"dev": broken}, "dev")
    with pytest.raises(ValueError, match="unknown environment"):
        environment_config(environments, "qa")


def _api_function_environment(synth: Synthesized) -> dict[str, object]:
    functions = synth.resources(constants.APP_STACK, "AWS::Lambda::Function")
    (api,) = [
        resource
        for logical_id, resource in functions.items()
        if constants.API_FUNCTION.construct_id in logical_id
    ]
    variables: dict[str, object] = api["Properties"]["Environment"]["Variables"]
    return variables
