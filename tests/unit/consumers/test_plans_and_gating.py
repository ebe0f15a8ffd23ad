"""The plan table, its overrides, and the plan gate: what a free consumer sees and may ask."""

from __future__ import annotations

import pytest

from connectra.consumers.access import ALL_SCOPES, Consumer, Scope, parse_scopes
from connectra.consumers.gating import PlanGate, redact_rows
from connectra.consumers.keys import TtlCache, local_keys
from connectra.consumers.plans import PLANS, Metric, get_plan, plan_table
from connectra.errors import Forbidden
from connectra.models.fields import Entity
from connectra.settings import Settings
from connectra.vql.parse import parse_request
from infra.config import usage_plan_tiers

FREE = PlanGate(PLANS["free"])
PRO = PlanGate(PLANS["pro"])


def test_every_plan_has_a_usage_plan_with_its_rate_burst_and_quota() -> None:
    tiers = {tier.name: tier for tier in usage_plan_tiers()}

    assert set(tiers) == {"free", "pro", "enterprise"}
    for name, plan in PLANS.items():
        assert tiers[name].burst_limit == plan.per_second
        assert tiers[name].rate_limit == pytest.approx(plan.per_minute / 60, abs=0.001)
        assert tiers[name].quota_per_day == plan.per_day


def test_plan_settings_override_one_plan_and_rate_limit_variables_every_plan() -> None:
    settings = Settings(
        plan_settings={"free": {"per_minute": 7, "export_rows_per_day": 3}},
        rate_limit_burst=2,
    )

    table = plan_table(settings)

    assert table["free"].per_minute == 7
    assert table["free"].allowance(Metric.EXPORT_ROWS) == 3
    assert table["pro"].per_minute == PLANS["pro"].per_minute
    assert {plan.per_second for plan in table.values()} == {2}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"gold": {}}, "unknown plan 'gold'"), ({"free": {"speed": 1}}, "unknown settings")],
)
def test_bad_plan_settings_are_refused(overrides: dict[str, dict[str, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_plan(Settings(plan_settings=overrides), "free")


def test_api_keys_accept_the_old_and_the_new_form() -> None:
    settings = Settings(
        api_keys={
            "old-key": "legacy",
            "new-key": {"consumer": "alice", "scopes": ["read"], "plan": "free"},
        }
    )

    keys = local_keys(settings)

    assert keys["old-key"].consumer == "legacy"
    assert keys["old-key"].scopes == ALL_SCOPES and keys["old-key"].plan == "enterprise"
    assert keys["new-key"].scopes == {Scope.READ} and keys["new-key"].plan == "free"


@pytest.mark.parametrize(
    "entry",
    [
        {"consumer": "a", "scopes": ["root"]},
        {"consumer": "a", "plan": "gold"},
        {"consumer": "a", "extra": 1},
    ],
)
def test_a_bad_api_keys_entry_fails_at_startup(entry: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        local_keys(Settings(api_keys={"k": entry}))


def test_scopes_parse_from_lists_and_comma_text() -> None:
    assert parse_scopes("read, write") == {Scope.READ, Scope.WRITE}
    assert parse_scopes(["ADMIN"]) == {Scope.ADMIN}
    with pytest.raises(ValueError, match="unknown"):
        parse_scopes(["reed"])


def test_a_missing_scope_is_a_403_naming_it() -> None:
    consumer = Consumer("k", "alice", PLANS["pro"], frozenset({Scope.READ}))

    consumer.require(Scope.READ)
    with pytest.raises(Forbidden) as refused:
        consumer.require(Scope.WRITE)

    assert refused.value.details["scope"] == "write"


@pytest.mark.parametrize(
    ("entity", "body", "field", "purpose"),
    [
        (
            "contacts",
            {"where": {"keyword_match": {"must": {"email": "a@b.co"}}}},
            "email",
            "filter",
        ),
        (
            "contacts",
            {"where": {"keyword_match": {"must_not": {"mobile_phone": "1"}}}},
            "mobile_phone",
            "filter",
        ),
        ("contacts", {"order_by": [{"order_by": "email"}]}, "email", "sort"),
        (
            "contacts",
            {"where": {"keyword_match": {"must": {"company_phone": "1"}}}},
            "company_phone",
            "filter",
        ),
        ("companies", {"where": {"keyword_match": {"must": {"phone": "1"}}}}, "phone", "filter"),
    ],
)
def test_free_may_not_filter_or_sort_on_a_premium_field(
    entity: str, body: dict[str, object], field: str, purpose: str
) -> None:
    query = parse_request(body, Entity(entity))

    PRO.check_query(query)
    with pytest.raises(Forbidden) as refused:
        FREE.check_query(query)

    assert refused.value.details == {"field": field, "plan": "free", "purpose": purpose}
    assert field in refused.value.message


def test_free_may_filter_and_sort_on_other_fields() -> None:
    query = parse_request(
        {
            "where": {"keyword_match": {"must": {"seniority": "vp", "company_country": "de"}}},
            "order_by": [{"order_by": "created_at"}],
        },
        Entity.CONTACTS,
    )

    FREE.check_query(query)  # nothing raised


def test_free_rows_have_premium_fields_null_including_the_populated_company() -> None:
    row = {
        "uuid": "u1",
        "email": "a@b.co",
        "mobile_phone": "+1",
        "linkedin_url": "in/a",
        "title": "CTO",
        "company": {"name": "Acme", "phone": "+49", "linkedin_url": "co/acme"},
    }

    blanked = FREE.blank_row(Entity.CONTACTS, row)

    assert blanked["email"] is None and blanked["mobile_phone"] is None
    assert blanked["linkedin_url"] is None and blanked["title"] == "CTO"
    assert blanked["company"] == {"name": "Acme", "phone": None, "linkedin_url": "co/acme"}
    assert row["email"] == "a@b.co"  # the input is not changed
    assert PRO.blank_row(Entity.CONTACTS, row) == row
    assert FREE.blank_row(Entity.COMPANIES, {"phone": "+49", "name": "A"}) == {
        "phone": None,
        "name": "A",
    }


def test_bucket_keys_and_export_columns_of_premium_fields() -> None:
    assert FREE.bucket_key(Entity.CONTACTS, "email", "a@b.co") is None
    assert FREE.bucket_key(Entity.CONTACTS, "seniority", "vp") == "vp"
    assert PRO.bucket_key(Entity.CONTACTS, "email", "a@b.co") == "a@b.co"
    header = ["uuid", "email", "company_phone", "company_name"]
    assert FREE.export_redactions(Entity.CONTACTS, header) == ["email", "company_phone"]
    assert PRO.export_redactions(Entity.CONTACTS, header) == []
    rows = [{"email": "a@b.co", "company": {"phone": "1", "name": "A"}}]
    assert redact_rows(rows, ["email", "company_phone"]) == [
        {"email": None, "company": {"phone": None, "name": "A"}}
    ]


def test_the_key_cache_answers_within_its_ttl_and_reloads_after() -> None:
    now = [100.0]
    loads: list[str] = []
    cache = TtlCache(ttl=30, clock=lambda: now[0])

    def load() -> None:
        loads.append("db")

    cache.get("k", load)
    now[0] += 29
    cache.get("k", load)
    now[0] += 2
    cache.get("k", load)

    assert loads == ["db", "db"]
