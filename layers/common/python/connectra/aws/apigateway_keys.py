"""API keys of the usage plans the CDK app creates: create, list, revoke.

The usage plans are named `connectra-<environment>-<tier>` (infra/naming.py; a test keeps
both sides in step). A key belongs to exactly one plan of one environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_apigateway.type_defs import ApiKeyTypeDef

PROJECT = "connectra"


def usage_plan_name(environment: str, tier: str) -> str:
    return f"{PROJECT}-{environment}-{tier}"


class KeyManagementError(Exception):
    """A request the key manager cannot carry out; the message says why."""


class UsagePlanNotFoundError(KeyManagementError):
    pass


class ApiKeyNotFoundError(KeyManagementError):
    pass


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    tier: str
    enabled: bool
    created_at: datetime | None
    value: str | None = None  # only returned by create


@dataclass(frozen=True)
class UsagePlan:
    id: str
    tier: str


class ApiKeyManager:
    """Keys of one environment's usage plans, through the API Gateway control plane."""

    def __init__(self, client: APIGatewayClient, environment: str) -> None:
        self._client = client
        self._environment = environment

    def plans(self) -> dict[str, UsagePlan]:
        """This environment's usage plans by tier."""
        prefix = usage_plan_name(self._environment, "")
        plans: dict[str, UsagePlan] = {}
        for page in self._client.get_paginator("get_usage_plans").paginate():
            for item in page.get("items", []):
                name = item.get("name", "")
                if name.startswith(prefix) and "id" in item:
                    tier = name[len(prefix) :]
                    plans[tier] = UsagePlan(id=item["id"], tier=tier)
        return plans

    def create(self, *, tier: str, name: str) -> ApiKey:
        plans = self.plans()
        if tier not in plans:
            known = ", ".join(sorted(plans)) or "none (is the app stack deployed?)"
            raise UsagePlanNotFoundError(
                f"no usage plan {usage_plan_name(self._environment, tier)!r}; tiers: {known}"
            )
        existing = [key for key in self.list() if key.name == name]
        if existing:
            raise KeyManagementError(f"a key named {name!r} already exists ({existing[0].id})")
        created = self._client.create_api_key(
            name=name,
            enabled=True,
            description=f"Connectra {self._environment} {tier} key for {name}",
            tags={f"{PROJECT}:environment": self._environment, f"{PROJECT}:tier": tier},
        )
        key_id = created["id"]
        try:
            self._client.create_usage_plan_key(
                usagePlanId=plans[tier].id, keyId=key_id, keyType="API_KEY"
            )
        except Exception:
            # A key outside every plan would be rejected by the API: do not leave one behind.
            self._client.delete_api_key(apiKey=key_id)
            raise
        return ApiKey(
            id=key_id,
            name=name,
            tier=tier,
            enabled=True,
            created_at=created.get("createdDate"),
            value=created.get("value"),
        )

    def list(self) -> list[ApiKey]:
        """Every key attached to one of this environment's plans, oldest first."""
        details: dict[str, ApiKeyTypeDef] = {
            key["id"]: key for key in self._all_keys() if "id" in key
        }
        keys = []
        for plan in self.plans().values():
            for key_id in self._plan_key_ids(plan.id):
                detail = details.get(key_id)
                keys.append(
                    ApiKey(
                        id=key_id,
                        name=detail.get("name", "") if detail else "",
                        tier=plan.tier,
                        enabled=bool(detail.get("enabled", False)) if detail else False,
                        created_at=detail.get("createdDate") if detail else None,
                    )
                )
        return sorted(
            keys, key=lambda key: (key.created_at.timestamp() if key.created_at else 0.0, key.name)
        )

    def revoke(self, key: str, *, delete: bool = False) -> ApiKey:
        """Disable (or delete) a key given by id or by name; disabled keys get 403."""
        found = self.find(key)
        if delete:
            self._client.delete_api_key(apiKey=found.id)
        else:
            self._client.update_api_key(
                apiKey=found.id,
                patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}],
            )
        return ApiKey(
            id=found.id,
            name=found.name,
            tier=found.tier,
            enabled=False,
            created_at=found.created_at,
        )

    def change_tier(self, key: str, tier: str) -> ApiKey:
        """Move a key to another tier's usage plan (its throttle and quota change at once)."""
        found = self.find(key)
        plans = self.plans()
        if tier not in plans:
            known = ", ".join(sorted(plans)) or "none"
            raise UsagePlanNotFoundError(
                f"no usage plan {usage_plan_name(self._environment, tier)!r}; tiers: {known}"
            )
        if found.tier == tier:
            return found
        self._client.create_usage_plan_key(
            usagePlanId=plans[tier].id, keyId=found.id, keyType="API_KEY"
        )
        self._client.delete_usage_plan_key(usagePlanId=plans[found.tier].id, keyId=found.id)
        return ApiKey(
            id=found.id,
            name=found.name,
            tier=tier,
            enabled=found.enabled,
            created_at=found.created_at,
        )

    def delete(self, key_id: str) -> None:
        self._client.delete_api_key(apiKey=key_id)

    def find(self, key: str) -> ApiKey:
        matches = [k for k in self.list() if key in (k.id, k.name)]
        if not matches:
            raise ApiKeyNotFoundError(f"no key {key!r} in the {self._environment} usage plans")
        if len(matches) > 1:
            ids = ", ".join(k.id for k in matches)
            raise KeyManagementError(f"{key!r} names several keys ({ids}): give the id")
        return matches[0]

    def _all_keys(self) -> Iterator[ApiKeyTypeDef]:
        for page in self._client.get_paginator("get_api_keys").paginate(includeValues=False):
            yield from page.get("items", [])

    def _plan_key_ids(self, plan_id: str) -> Iterator[str]:
        paginator = self._client.get_paginator("get_usage_plan_keys")
        for page in paginator.paginate(usagePlanId=plan_id):
            for item in page.get("items", []):
                if "id" in item:
                    yield item["id"]
