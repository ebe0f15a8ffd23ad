"""API Gateway: keys on every method but GET /health, usage plans per tier, stage setup."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from connectra.aws.apigateway_keys import usage_plan_name as cli_usage_plan_name
from infra import constants, naming
from tests.infra.conftest import Synthesized


def _resource_paths(synth: Synthesized) -> dict[str, str]:
    resources = synth.resources(constants.APP_STACK, "AWS::ApiGateway::Resource")
    return {logical_id: r["Properties"]["PathPart"] for logical_id, r in resources.items()}


def test_api_key_required_on_every_method_except_get_health(any_env: Synthesized) -> None:
    paths = _resource_paths(any_env)
    methods = any_env.resources(constants.APP_STACK, "AWS::ApiGateway::Method").values()

    open_methods: list[tuple[str, str]] = []
    keyed_methods: list[tuple[str, str]] = []
    for method in methods:
        properties = method["Properties"]
        resource = properties["ResourceId"]
        path = paths.get(resource.get("Ref", ""), "/") if isinstance(resource, dict) else "/"
        route = (properties["HttpMethod"], path)
        (keyed_methods if properties.get("ApiKeyRequired") is True else open_methods).append(route)

    # CORS preflights are answered by API Gateway itself (test_deploy_readiness).
    open_methods = [route for route in open_methods if route[0] != "OPTIONS"]
    assert open_methods == [("GET", constants.HEALTH_PATH)]
    assert ("GET", constants.HEALTH_DEEP_PATH) in keyed_methods
    assert ("ANY", "{proxy+}") in keyed_methods
    assert ("ANY", "/") in keyed_methods


def test_usage_plans_throttle_and_quota_per_tier(any_env: Synthesized) -> None:
    template = any_env.template(constants.APP_STACK)

    template.resource_count_is("AWS::ApiGateway::UsagePlan", len(any_env.config.usage_plans))
    for tier in any_env.config.usage_plans:
        template.has_resource_properties(
            "AWS::ApiGateway::UsagePlan",
            {
                "UsagePlanName": naming.usage_plan_name(any_env.config.name, tier.name),
                "Throttle": {"RateLimit": tier.rate_limit, "BurstLimit": tier.burst_limit},
                "Quota": {"Limit": tier.quota_per_day, "Period": "DAY"},
                "ApiStages": [
                    assertions.Match.object_like({"Stage": assertions.Match.any_value()})
                ],
            },
        )


def test_keys_cli_finds_the_plans_by_the_names_infra_gives_them(dev: Synthesized) -> None:
    for tier in dev.config.usage_plans:
        assert cli_usage_plan_name(dev.config.name, tier.name) == naming.usage_plan_name(
            dev.config.name, tier.name
        )


def test_stage_is_throttled_traced_and_access_logged(any_env: Synthesized) -> None:
    template = any_env.template(constants.APP_STACK)

    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": any_env.config.name,
            "TracingEnabled": True,
            "AccessLogSetting": assertions.Match.object_like(
                {"DestinationArn": assertions.Match.any_value()}
            ),
            "MethodSettings": assertions.Match.array_with(
                [
                    assertions.Match.object_like(
                        {
                            "ThrottlingRateLimit": any_env.config.api_throttle_rate_limit,
                            "ThrottlingBurstLimit": any_env.config.api_throttle_burst_limit,
                        }
                    )
                ]
            ),
        },
    )


def test_rest_api_proxies_to_the_api_function_with_binary_media_types(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"BinaryMediaTypes": ["*/*"], "ApiKeySourceType": "HEADER"},
    )
    methods = dev.resources(constants.APP_STACK, "AWS::ApiGateway::Method").values()
    for method in methods:
        integration = method["Properties"]["Integration"]
        if method["Properties"]["HttpMethod"] == "OPTIONS":
            assert integration["Type"] == "MOCK"  # CORS preflights: API Gateway answers
            continue
        assert integration["Type"] == "AWS_PROXY"
        assert constants.API_FUNCTION.construct_id in str(integration["Uri"])


def test_api_function_knows_its_stage_and_the_auth_mode(dev: Synthesized) -> None:
    template = dev.template(constants.APP_STACK)

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": constants.API_FUNCTION.handler,
            "Environment": {
                "Variables": assertions.Match.object_like(
                    {
                        constants.ENV_API_BASE_PATH: dev.config.name,
                        constants.ENV_AUTH_MODE: "apigateway",
                        constants.ENV_INGEST_STATE_MACHINE_ARN: assertions.Match.any_value(),
                        constants.ENV_EXPORT_STATE_MACHINE_ARN: assertions.Match.any_value(),
                    }
                )
            },
        },
    )


def test_the_api_reads_its_cursor_key_from_a_generated_secret(any_env: Synthesized) -> None:
    secrets = any_env.resources(constants.APP_STACK, "AWS::SecretsManager::Secret")
    cursor_keys = [
        logical_id
        for logical_id, secret in secrets.items()
        if "cursor" in secret["Properties"].get("Description", "")
    ]
    assert len(cursor_keys) == 1
    generated = secrets[cursor_keys[0]]["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32

    functions = any_env.resources(constants.APP_STACK, "AWS::Lambda::Function")
    readers = [
        f
        for f in functions.values()
        if f["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        .get(constants.ENV_CURSOR_SECRET_ARN)
        == {"Ref": cursor_keys[0]}
    ]
    assert len(readers) == 1  # the API function, and only it
    policies = any_env.resources(constants.APP_STACK, "AWS::IAM::Policy").values()
    granted = [
        statement
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if {"Ref": cursor_keys[0]} in _as_list(statement.get("Resource"))
    ]
    assert any("secretsmanager:GetSecretValue" in s["Action"] for s in granted)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
