"""`connectra keys` against API Gateway (moto): plans as the CDK app names them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from connectra.aws.apigateway_keys import (
    ApiKeyManager,
    UsagePlanNotFoundError,
    usage_plan_name,
)
from connectra.cli import keys

REGION = "us-east-1"
runner = CliRunner()


@pytest.fixture
def apigateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A REST API with a dev stage, dev free/pro plans and a prod pro plan."""
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("CONNECTRA_ENV", raising=False)
    with mock_aws():
        client = boto3.client("apigateway", region_name=REGION)
        api_id = client.create_rest_api(name="connectra-dev-api")["id"]
        root_id = client.get_resources(restApiId=api_id)["items"][0]["id"]
        client.put_method(
            restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE"
        )
        client.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")
        client.create_deployment(restApiId=api_id, stageName="dev")
        for environment, tier in (("dev", "free"), ("dev", "pro"), ("prod", "pro")):
            client.create_usage_plan(
                name=usage_plan_name(environment, tier),
                apiStages=[{"apiId": api_id, "stage": "dev"}],
                throttle={"rateLimit": 10.0, "burstLimit": 20},
                quota={"limit": 1000, "period": "DAY"},
            )
        yield client


def _plan_id(client: Any, environment: str, tier: str) -> str:
    plans = client.get_usage_plans()["items"]
    (plan,) = [p for p in plans if p["name"] == usage_plan_name(environment, tier)]
    return str(plan["id"])


def _invoke(*args: str) -> Any:
    return runner.invoke(keys.app, list(args))


def test_create_attaches_a_new_key_to_the_tier_plan_and_prints_its_value(apigateway: Any) -> None:
    result = _invoke("create", "--plan", "pro", "--name", "acme")

    assert result.exit_code == 0, result.output
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    key_id, value = fields["id"].strip(), fields["value"].strip()
    plan_keys = apigateway.get_usage_plan_keys(usagePlanId=_plan_id(apigateway, "dev", "pro"))
    assert [k["id"] for k in plan_keys["items"]] == [key_id]
    stored = apigateway.get_api_key(apiKey=key_id, includeValue=True)
    assert stored["value"] == value
    assert stored["name"] == "acme"
    assert stored["enabled"] is True


def test_create_with_an_unknown_tier_names_the_known_ones(apigateway: Any) -> None:
    result = _invoke("create", "--plan", "platinum", "--name", "acme")

    assert result.exit_code == 2
    assert "connectra-dev-platinum" in result.stderr
    assert "free, pro" in result.stderr
    assert apigateway.get_api_keys()["items"] == []


def test_create_refuses_a_second_key_with_the_same_name(apigateway: Any) -> None:
    assert _invoke("create", "--plan", "free", "--name", "acme").exit_code == 0

    result = _invoke("create", "--plan", "pro", "--name", "acme")

    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert len(apigateway.get_api_keys()["items"]) == 1


def test_list_shows_only_the_keys_of_the_chosen_environment(apigateway: Any) -> None:
    _invoke("create", "--plan", "pro", "--name", "acme")
    _invoke("create", "--plan", "free", "--name", "globex")
    _invoke("create", "--plan", "pro", "--name", "initech", "--env", "prod")

    dev_listing = _invoke("list")
    prod_listing = _invoke("list", "--env", "prod")

    assert dev_listing.exit_code == 0, dev_listing.output
    dev_rows = dev_listing.stdout.splitlines()[1:]
    assert sorted(row.split()[1:3] for row in dev_rows) == [["acme", "pro"], ["globex", "free"]]
    assert all("enabled" in row for row in dev_rows)
    assert [row.split()[1] for row in prod_listing.stdout.splitlines()[1:]] == ["initech"]


def test_environment_can_come_from_connectra_env(
    apigateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTRA_ENV", "prod")

    result = _invoke("create", "--plan", "pro", "--name", "initech")

    assert result.exit_code == 0, result.output
    plan_keys = apigateway.get_usage_plan_keys(usagePlanId=_plan_id(apigateway, "prod", "pro"))
    assert len(plan_keys["items"]) == 1


def test_revoke_by_name_disables_the_key(apigateway: Any) -> None:
    _invoke("create", "--plan", "pro", "--name", "acme")

    result = _invoke("revoke", "acme")

    assert result.exit_code == 0, result.output
    (key,) = apigateway.get_api_keys()["items"]
    assert key["enabled"] is False
    assert "disabled" in _invoke("list").stdout.splitlines()[1]


def test_revoke_with_delete_removes_the_key(apigateway: Any) -> None:
    _invoke("create", "--plan", "pro", "--name", "acme")
    (key,) = apigateway.get_api_keys()["items"]

    result = _invoke("revoke", key["id"], "--delete")

    assert result.exit_code == 0, result.output
    assert apigateway.get_api_keys()["items"] == []


def test_revoke_of_an_unknown_key_fails_without_touching_others(apigateway: Any) -> None:
    _invoke("create", "--plan", "pro", "--name", "acme")

    result = _invoke("revoke", "nobody")

    assert result.exit_code == 2
    assert "no key 'nobody'" in result.stderr
    (key,) = apigateway.get_api_keys()["items"]
    assert key["enabled"] is True


class _PlanAttachFails:
    """The real (moto) client, except that attaching a key to a plan fails."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_usage_plan_key(self, **kwargs: Any) -> Any:
        raise RuntimeError("throttled")


def test_a_key_that_cannot_join_its_plan_is_deleted(apigateway: Any) -> None:
    manager = ApiKeyManager(_PlanAttachFails(apigateway), "dev")  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="throttled"):
        manager.create(tier="pro", name="acme")

    assert apigateway.get_api_keys()["items"] == []


def test_manager_lists_the_environment_plans_by_tier(apigateway: Any) -> None:
    manager = ApiKeyManager(apigateway, "dev")

    assert sorted(manager.plans()) == ["free", "pro"]
    with pytest.raises(UsagePlanNotFoundError):
        manager.create(tier="enterprise", name="acme")
