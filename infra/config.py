"""The per-environment settings from cdk.json context, parsed once into typed objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from connectra.consumers.plans import PLANS
from infra import constants

SearchBackend = Literal["postgres", "opensearch"]
CloudWatchRole = Literal["create", "existing"]
# Lambda's default concurrency quota is 1,000 per account and region, of which 100 must
# stay unreserved; new accounts may start lower. Reserving is opt-in (docs/deploy.md).
UNRESERVED_CONCURRENCY_MINIMUM = 100

# CloudWatch accepts only these retention periods (days); the config picks the next one up.
_RETENTION_PERIODS = (
    (1, logs.RetentionDays.ONE_DAY),
    (3, logs.RetentionDays.THREE_DAYS),
    (5, logs.RetentionDays.FIVE_DAYS),
    (7, logs.RetentionDays.ONE_WEEK),
    (14, logs.RetentionDays.TWO_WEEKS),
    (30, logs.RetentionDays.ONE_MONTH),
    (60, logs.RetentionDays.TWO_MONTHS),
    (90, logs.RetentionDays.THREE_MONTHS),
    (180, logs.RetentionDays.SIX_MONTHS),
    (365, logs.RetentionDays.ONE_YEAR),
    (731, logs.RetentionDays.TWO_YEARS),
    (3653, logs.RetentionDays.TEN_YEARS),
)

_REMOVAL_POLICIES = {
    "destroy": RemovalPolicy.DESTROY,
    "snapshot": RemovalPolicy.SNAPSHOT,
    "retain": RemovalPolicy.RETAIN,
}


@dataclass(frozen=True)
class UsagePlanTier:
    name: str
    rate_limit: float  # steady-state requests per second
    burst_limit: int
    quota_per_day: int


def usage_plan_tiers() -> tuple[UsagePlanTier, ...]:
    """One usage plan per plan of the plan table (connectra.consumers.plans), the table
    the API's own limits and allowances come from too."""
    return tuple(
        UsagePlanTier(
            name=plan.name,
            rate_limit=plan.gateway_rate_per_second,
            burst_limit=plan.per_second,
            quota_per_day=plan.per_day,
        )
        for plan in PLANS.values()
    )


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    max_azs: int
    db_instance_type: str
    db_allocated_storage_gib: int
    db_max_allocated_storage_gib: int
    db_multi_az: bool
    db_backup_retention_days: int
    deletion_protection: bool
    removal_policy: str
    log_retention_days: int
    search_backend: SearchBackend
    opensearch_instance_type: str
    opensearch_data_nodes: int
    opensearch_master_nodes: int
    opensearch_volume_gib: int
    chunk_size_bytes: int
    map_max_concurrency: int
    map_tolerated_failure_percentage: int
    api_throttle_rate_limit: int
    api_throttle_burst_limit: int
    api_reserved_concurrency: int | None
    api_cloudwatch_role: CloudWatchRole
    upload_expiration_days: int
    export_expiration_days: int
    report_expiration_days: int
    manifest_expiration_days: int
    cors_allowed_origins: tuple[str, ...]
    alarm_email: str | None
    usage_plans: tuple[UsagePlanTier, ...]

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return _REMOVAL_POLICIES[self.removal_policy]

    @property
    def stateful_removal_policy_without_snapshot(self) -> RemovalPolicy:
        """For resources CloudFormation cannot snapshot (buckets, search domains)."""
        return RemovalPolicy.DESTROY if self.removal_policy == "destroy" else RemovalPolicy.RETAIN

    @property
    def log_retention(self) -> logs.RetentionDays:
        for days, retention in _RETENTION_PERIODS:
            if days >= self.log_retention_days:
                return retention
        return _RETENTION_PERIODS[-1][1]

    @property
    def stateless_removal_policy(self) -> RemovalPolicy:
        """Logs and queues: kept in prod for forensics, removed elsewhere."""
        return RemovalPolicy.RETAIN if self.name == "prod" else RemovalPolicy.DESTROY

    @property
    def uses_opensearch(self) -> bool:
        return self.search_backend == "opensearch"

    @classmethod
    def from_context(cls, name: str, raw: dict[str, Any]) -> EnvironmentConfig:
        values = dict(raw)
        tiers = usage_plan_tiers()
        values["cors_allowed_origins"] = tuple(values.get("cors_allowed_origins", ()))
        values.setdefault("alarm_email", None)
        values.setdefault("api_reserved_concurrency", None)
        values.setdefault("api_cloudwatch_role", "create")
        config = cls(name=name, usage_plans=tiers, **values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.removal_policy not in _REMOVAL_POLICIES:
            raise ValueError(
                f"{self.name}: removal_policy must be one of {list(_REMOVAL_POLICIES)}"
            )
        if self.search_backend not in ("postgres", "opensearch"):
            raise ValueError(f"{self.name}: search_backend must be postgres or opensearch")
        if not 0 <= self.map_tolerated_failure_percentage <= 100:
            raise ValueError(f"{self.name}: map_tolerated_failure_percentage is a percentage")
        if self.map_max_concurrency < 1:
            raise ValueError(f"{self.name}: map_max_concurrency must be at least 1")
        if not self.usage_plans:
            raise ValueError(f"{self.name}: at least one usage plan tier is required")
        if self.api_cloudwatch_role not in ("create", "existing"):
            raise ValueError(f"{self.name}: api_cloudwatch_role must be create or existing")
        if self.api_reserved_concurrency is not None and self.api_reserved_concurrency < 1:
            raise ValueError(f"{self.name}: api_reserved_concurrency must be positive or null")


def load_cdk_json(path: Path | None = None) -> dict[str, Any]:
    """The `context` of cdk.json: the app reads it itself when run without the cdk CLI."""
    cdk_json = path or constants.REPO_ROOT / "cdk.json"
    context: dict[str, Any] = json.loads(cdk_json.read_text())["context"]
    return context


def environment_config(
    environments: dict[str, Any], name: str, overrides: dict[str, Any] | None = None
) -> EnvironmentConfig:
    """One environment of cdk.json, with the per-deploy `-c` overrides given (strings
    from the command line: `null` or empty unsets, digits are numbers)."""
    if name not in environments:
        raise ValueError(f"unknown environment {name!r}; cdk.json defines {sorted(environments)}")
    raw = dict(environments[name])
    for key, value in (overrides or {}).items():
        raw[key] = _context_value(value)
    return EnvironmentConfig.from_context(name, raw)


def _context_value(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() in ("", "null", "none"):
            return None
        if value.strip().isdigit():
            return int(value)
    return value
