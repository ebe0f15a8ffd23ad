"""`connectra keys` against API Gateway (moto): plans as the CDK app names them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from typer.testing import CliRunner

from connectra.api.deps import get_key_resolver
from connectra.aws.apigateway_keys import (
    ApiKeyManager,
    UsagePlanNotFoundError,
    usage_plan_name,
)
from connectra.cli import keys
from connectra.consumers import key_table
from connectra.consumers.access import Scope
from connectra.consumers.key_table import KeyRecord
from tests.api_app import fresh_app

REGION = "us-east-1"
runner = CliRunner()


@pytest.fixture
def apigateway(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
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
        plans = (("dev", "free"), ("dev", "pro"), ("dev", "enterprise"), ("prod", "pro"))
        for environment, tier in plans:
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
    assert "unknown plan 'platinum'" in result.stderr
    assert "enterprise, free, pro" in result.stderr
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

    assert sorted(manager.plans()) == ["enterprise", "free", "pro"]
    with pytest.raises(UsagePlanNotFoundError):
        manager.create(tier="platinum", name="acme")


def _table(database_url: str) -> dict[str, KeyRecord]:
    with psycopg.connect(database_url) as conn:
        return {record.name: record for record in key_table.list_keys(conn)}


def test_create_records_consumer_plan_and_scopes_in_the_key_table(
    apigateway: Any, clean_db: str
) -> None:
    result = _invoke(
        "create", "--plan", "free", "--name", "acme-bot", "--consumer", "acme", "--scopes", "read"
    )

    assert result.exit_code == 0, result.output
    (key,) = apigateway.get_api_keys()["items"]
    record = _table(clean_db)["acme-bot"]
    assert (record.key_id, record.consumer, record.plan) == (key["id"], "acme", "free")
    assert record.scopes == {Scope.READ}
    plan_keys = apigateway.get_usage_plan_keys(usagePlanId=_plan_id(apigateway, "dev", "free"))
    assert [k["id"] for k in plan_keys["items"]] == [key["id"]]
    assert "read" in _invoke("list").stdout.splitlines()[1]


def test_create_with_an_unknown_scope_creates_nothing(apigateway: Any, clean_db: str) -> None:
    result = _invoke("create", "--plan", "pro", "--name", "acme", "--scopes", "read,root")

    assert result.exit_code == 2
    assert "unknown ['root']" in result.stderr
    assert apigateway.get_api_keys()["items"] == []
    assert _table(clean_db) == {}


def test_update_moves_the_key_to_the_new_usage_plan_and_changes_scopes(
    apigateway: Any, clean_db: str
) -> None:
    _invoke("create", "--plan", "free", "--name", "acme")
    (key,) = apigateway.get_api_keys()["items"]

    result = _invoke("update", "acme", "--plan", "pro", "--scopes", "read,admin")

    assert result.exit_code == 0, result.output
    free = apigateway.get_usage_plan_keys(usagePlanId=_plan_id(apigateway, "dev", "free"))
    pro = apigateway.get_usage_plan_keys(usagePlanId=_plan_id(apigateway, "dev", "pro"))
    assert free["items"] == [] and [k["id"] for k in pro["items"]] == [key["id"]]
    record = _table(clean_db)["acme"]
    assert record.plan == "pro" and record.scopes == {Scope.READ, Scope.ADMIN}


def test_update_adopts_a_gateway_key_missing_from_the_key_table(
    apigateway: Any, clean_db: str
) -> None:
    ApiKeyManager(apigateway, "dev").create(tier="pro", name="legacy")  # made before the table

    result = _invoke("update", "legacy", "--scopes", "read")

    assert result.exit_code == 0, result.output
    record = _table(clean_db)["legacy"]
    assert (record.plan, record.scopes) == ("pro", {Scope.READ})


def test_revoke_marks_the_key_revoked_in_the_key_table(apigateway: Any, clean_db: str) -> None:
    _invoke("create", "--plan", "pro", "--name", "acme")

    assert _invoke("revoke", "acme").exit_code == 0

    assert _table(clean_db)["acme"].revoked


def test_a_local_key_is_served_by_the_api_until_revoked(clean_db: str) -> None:
    # Given a key created in the local key table, read-only, on the free plan
    created = _invoke(
        "create", "--local", "--plan", "free", "--name", "dev-bot", "--scopes", "read"
    )
    assert created.exit_code == 0, created.output
    fields = dict(line.split(":", 1) for line in created.stdout.splitlines() if ":" in line)
    headers = {"X-API-Key": fields["value"].strip()}
    with TestClient(fresh_app()) as api:
        # When it searches and tries to write, then is revoked (cache TTL 0 in this test)
        search = api.post("/contacts/count", json={}, headers=headers)
        write = api.post("/contacts/create", json={"email": "a@b.co"}, headers=headers)
        get_key_resolver().cache.ttl = 0
        assert _invoke("revoke", "--local", "dev-bot").exit_code == 0
        after = api.post("/contacts/count", json={}, headers=headers)

    # Then it could read, not write, and nothing once revoked
    assert search.status_code == 200, search.text
    assert write.status_code == 403 and write.json()["details"]["scope"] == "write"
    assert after.status_code == 401
    listing = _invoke("list", "--local").stdout
    assert "dev-bot" in listing and "revoked" in listing
