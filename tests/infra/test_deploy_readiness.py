"""What a first deploy into a fresh account needs from the templates (issue 12).

The API Gateway CloudWatch role, keyless CORS preflights, the open shallow /health, a
concurrency reservation only on request, the least-privileged database role and secrets
kept with the database, alarms on functions, database and search with a subscriber,
and the S3 grants the retry paths and the export need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import constants
from infra.application import build_app
from infra.config import load_cdk_json
from tests.infra.conftest import ALARM_EMAIL, Synthesized

ROOT = Path(__file__).resolve().parents[2]


def methods(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.resources(constants.APP_STACK, "AWS::ApiGateway::Method").values()
    ]


def function_policy(synth: Synthesized, spec: constants.FunctionSpec) -> list[dict[str, Any]]:
    """The statements of a function role's policy (its DefaultPolicy)."""
    statements: list[dict[str, Any]] = []
    for logical_id, policy in synth.resources(constants.APP_STACK, "AWS::IAM::Policy").items():
        if f"{spec.construct_id}Role" in logical_id:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements, spec.construct_id
    return statements


def object_actions(statements: list[dict[str, Any]], prefix: str) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        if f"/{prefix}*" in json.dumps(statement["Resource"]):
            found = statement["Action"]
            actions |= {found} if isinstance(found, str) else set(found)
    return actions


def test_the_stage_waits_for_the_accounts_cloudwatch_role(any_env: Synthesized) -> None:
    accounts = any_env.resources(constants.APP_STACK, "AWS::ApiGateway::Account")
    (account_id,) = accounts
    assert accounts[account_id]["DeletionPolicy"] == "Retain"  # other APIs may rely on it
    (stage,) = any_env.resources(constants.APP_STACK, "AWS::ApiGateway::Stage").values()
    assert account_id in stage["DependsOn"]
    settings = stage["Properties"]["MethodSettings"][0]
    assert settings["LoggingLevel"] == "ERROR"


def test_an_account_with_its_role_already_set_can_skip_creating_it(tmp_path: Path) -> None:
    context = load_cdk_json()
    context.update(env="dev", layer_source="source", api_cloudwatch_role="existing")
    assembly = build_app(context=context, outdir=tmp_path).synth()
    template = assembly.get_stack_by_name("connectra-dev-app").template
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert "AWS::ApiGateway::Account" not in types


def test_cors_preflights_need_no_key_and_every_other_method_does(any_env: Synthesized) -> None:
    found = methods(any_env)
    options = [m for m in found if m["HttpMethod"] == "OPTIONS"]
    assert len(options) == 4  # /, /{proxy+}, /health, /health/deep
    for method in options:
        assert method["ApiKeyRequired"] is False
        assert method["Integration"]["Type"] == "MOCK"
    keyless = [m for m in found if m["HttpMethod"] != "OPTIONS" and not m.get("ApiKeyRequired")]
    assert [m["HttpMethod"] for m in keyless] == ["GET"]  # the shallow /health only
    origins = json.dumps(options[0]["Integration"])
    assert all(origin in origins for origin in any_env.config.cors_allowed_origins)


def test_api_concurrency_is_reserved_only_when_asked(any_env: Synthesized, tmp_path: Path) -> None:
    functions = any_env.resources(constants.APP_STACK, "AWS::Lambda::Function").values()
    assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions)

    context = load_cdk_json()
    context.update(env="prod", layer_source="source", alarm_email=ALARM_EMAIL)
    context["api_reserved_concurrency"] = "200"
    template = (
        build_app(context=context, outdir=tmp_path)
        .synth()
        .get_stack_by_name("connectra-prod-app")
        .template
    )
    reserved = [
        r["Properties"]["ReservedConcurrentExecutions"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "ReservedConcurrentExecutions" in r["Properties"]
    ]
    assert reserved == [200]


def test_functions_log_in_as_the_app_role_and_only_migrations_as_the_owner(
    any_env: Synthesized,
) -> None:
    data = any_env.raw(constants.DATA_STACK)["Resources"]
    owner = next(k for k in data if k.startswith("DatabaseInstanceSecretAttachment"))
    app = next(k for k in data if k.startswith("DatabaseAppUserSecretAttachment"))
    for logical_id, function in any_env.resources(
        constants.APP_STACK, "AWS::Lambda::Function"
    ).items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if constants.ENV_DB_SECRET_ARN not in variables:
            continue
        secret = json.dumps(variables[constants.ENV_DB_SECRET_ARN])
        if constants.MIGRATE_FUNCTION.construct_id in logical_id:
            assert owner in secret
            assert app in json.dumps(variables[constants.ENV_DB_APP_SECRET_ARN])
        else:
            assert app in secret and owner not in secret, logical_id
    (proxy,) = any_env.resources(constants.DATA_STACK, "AWS::RDS::DBProxy").values()
    assert len(proxy["Properties"]["Auth"]) == 2


def test_the_app_role_is_the_one_the_migration_creates() -> None:
    from connectra.db.roles import APP_ROLE

    migration = ROOT / "layers/common/python/connectra/db/migrations/versions"
    text = (migration / "0010_deploy_app_role.py").read_text()
    assert APP_ROLE == constants.DATABASE_APP_USER
    assert f'APP_ROLE = "{APP_ROLE}"' in text


def test_database_secrets_are_kept_when_the_database_is(any_env: Synthesized) -> None:
    data = any_env.raw(constants.DATA_STACK)["Resources"]
    (instance,) = [r for r in data.values() if r["Type"] == "AWS::RDS::DBInstance"]
    secrets = [r for r in data.values() if r["Type"] == "AWS::SecretsManager::Secret"]
    assert len(secrets) == 2
    expected = "Delete" if instance["DeletionPolicy"] == "Delete" else "Retain"
    assert [secret["DeletionPolicy"] for secret in secrets] == [expected, expected]


def test_retries_may_read_and_write_manifests(any_env: Synthesized) -> None:
    for spec in (constants.SWEEPER_FUNCTION, constants.API_FUNCTION):
        actions = object_actions(function_policy(any_env, spec), constants.MANIFESTS_PREFIX)
        assert {"s3:GetObject", "s3:PutObject"} <= actions, spec.construct_id


def test_the_export_deletes_its_parts_and_has_no_search_grant(any_env: Synthesized) -> None:
    statements = function_policy(any_env, constants.EXPORT_FUNCTION)
    actions = object_actions(statements, constants.EXPORTS_PREFIX)
    assert "s3:DeleteObject" in actions
    assert not any("es:" in json.dumps(statement["Action"]) for statement in statements)


def test_every_function_database_and_search_domain_is_alarmed(any_env: Synthesized) -> None:
    alarms = any_env.resources(constants.APP_STACK, "AWS::CloudWatch::Alarm").values()
    watched = [
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"], json.dumps(a["Properties"]))
        for a in alarms
    ]
    for spec in constants.ALL_FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            assert any(
                namespace == "AWS/Lambda" and name == metric and spec.construct_id in text
                for namespace, name, text in watched
            ), (spec.construct_id, metric)
    names = {(namespace, name) for namespace, name, _ in watched}
    assert {
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnectionsSetupFailed"),
        ("AWS/RDS", "ClientConnectionsSetupFailedAuth"),
    } <= names
    if any_env.config.uses_opensearch:
        assert {("AWS/ES", "ClusterStatus.red"), ("AWS/ES", "ClusterIndexWritesBlocked")} <= names


def test_the_alarm_topic_mails_the_given_address(any_env: Synthesized) -> None:
    subscriptions = any_env.resources(constants.APP_STACK, "AWS::SNS::Subscription").values()
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions] == [
        ("email", ALARM_EMAIL)
    ]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_refuse_to_synthesize_without_a_subscriber(
    environment: str, tmp_path: Path
) -> None:
    context = load_cdk_json()
    context.update(env=environment, layer_source="source")
    assembly = build_app(context=context, outdir=tmp_path).synth()
    stack = assembly.get_stack_by_name(f"connectra-{environment}-app")
    errors = [
        str(message.entry.data)
        for message in stack.messages
        if message.level.value.lower() == "error" and "alarm_email" in str(message.entry.data)
    ]
    assert errors, "an environment without alarm subscriber must not synthesize cleanly"


def test_cdk_json_uses_no_reserved_context_key() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert not [key for key in context if key.startswith("aws:")]
