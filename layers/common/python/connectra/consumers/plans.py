"""The one table of plan settings: limits, daily allowances and premium fields per plan.

API Gateway usage plans (infra/constructs/api.py) and the local limiter both read this
table, so what a consumer is promised is what is enforced in either place. A deployment
may override any value with `PLAN_SETTINGS` (JSON: `{"free": {"per_minute": 30}}`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from connectra.models.fields import COMPANY_PREFIX, Entity
from connectra.settings import MIB, Settings

# Premium fields of each entity: null in responses and exports on plans without them,
# and refused (403) as a filter, sort or aggregation field.
PREMIUM_FIELDS: dict[Entity, frozenset[str]] = {
    Entity.CONTACTS: frozenset({"email", "mobile_phone", "linkedin_url"}),
    Entity.COMPANIES: frozenset({"phone"}),
}


def premium_fields(entity: Entity) -> frozenset[str]:
    """Premium field names of `entity`, for contacts including `company_<premium>`."""
    own = PREMIUM_FIELDS[entity]
    if entity is not Entity.CONTACTS:
        return own
    return own | {COMPANY_PREFIX + name for name in PREMIUM_FIELDS[Entity.COMPANIES]}


class PlanName(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Metric(StrEnum):
    """Metered operations, counted per consumer per UTC day (`consumer_usage`)."""

    EXPORT_ROWS = "export_rows"
    IMPORT_BYTES = "import_bytes"
    AGGREGATION_CALLS = "aggregation_calls"


@dataclass(frozen=True)
class PlanSettings:
    name: str
    per_second: int  # burst: requests in one second
    per_minute: int  # steady rate
    per_day: int  # quota
    export_rows_per_day: int | None  # None: unlimited (still metered)
    import_bytes_per_day: int | None
    aggregation_calls_per_day: int | None
    premium_fields: bool  # False: premium fields are blanked and refused as filters

    def allowance(self, metric: Metric) -> int | None:
        return {
            Metric.EXPORT_ROWS: self.export_rows_per_day,
            Metric.IMPORT_BYTES: self.import_bytes_per_day,
            Metric.AGGREGATION_CALLS: self.aggregation_calls_per_day,
        }[metric]

    @property
    def gateway_rate_per_second(self) -> float:
        """API Gateway's steady-state rate (requests a second) for `per_minute`."""
        return round(self.per_minute / 60.0, 3)


PLANS: dict[str, PlanSettings] = {
    plan.name: plan
    for plan in (
        PlanSettings(
            name=PlanName.FREE,
            per_second=5,
            per_minute=60,
            per_day=1_000,
            export_rows_per_day=1_000,
            import_bytes_per_day=10 * MIB,
            aggregation_calls_per_day=100,
            premium_fields=False,
        ),
        PlanSettings(
            name=PlanName.PRO,
            per_second=20,
            per_minute=1_200,
            per_day=50_000,
            export_rows_per_day=100_000,
            import_bytes_per_day=1_024 * MIB,
            aggregation_calls_per_day=5_000,
            premium_fields=True,
        ),
        PlanSettings(
            name=PlanName.ENTERPRISE,
            per_second=200,
            per_minute=12_000,
            per_day=10_000_000,
            export_rows_per_day=None,
            import_bytes_per_day=None,
            aggregation_calls_per_day=None,
            premium_fields=True,
        ),
    )
}

_OVERRIDABLE = {field.name for field in fields(PlanSettings)} - {"name"}


def _with_overrides(plan: PlanSettings, overrides: dict[str, Any]) -> PlanSettings:
    unknown = set(overrides) - _OVERRIDABLE
    if unknown:
        raise ValueError(f"PLAN_SETTINGS.{plan.name}: unknown settings {sorted(unknown)}")
    return replace(plan, **overrides)


def plan_table(settings: Settings) -> dict[str, PlanSettings]:
    """`PLANS` with the deployment's `PLAN_SETTINGS` and `RATE_LIMIT_*` overrides applied."""
    table = dict(PLANS)
    for name, overrides in settings.plan_settings.items():
        if name not in table:
            raise ValueError(f"PLAN_SETTINGS: unknown plan {name!r}; plans: {sorted(table)}")
        table[name] = _with_overrides(table[name], overrides)
    # The RATE_LIMIT_* variables set one level for every plan (tests, benchmarks).
    levels = {
        "per_second": settings.rate_limit_burst,
        "per_minute": settings.rate_limit_per_minute,
        "per_day": settings.rate_limit_per_day,
    }
    given: dict[str, Any] = {name: value for name, value in levels.items() if value is not None}
    return {name: replace(plan, **given) for name, plan in table.items()}


def get_plan(settings: Settings, name: str) -> PlanSettings:
    table = plan_table(settings)
    if name not in table:
        raise ValueError(f"unknown plan {name!r}; plans: {', '.join(sorted(table))}")
    return table[name]
