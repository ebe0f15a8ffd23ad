"""Text conditions decided on the field's distinct values (vql/distinct_values.py) match
exactly the rows they match without: every conformance case gives the same rows, and the
same count, whether the walk proves a miss or gives up at its bound."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectra.db import search_structures
from connectra.models.fields import FIELDS_BY_ENTITY, Entity
from connectra.vql import distinct_values
from connectra.vql.ast import TextCondition
from connectra.vql.parse import parse_request
from connectra.vql.sql import compile_count
from tests.integration.search.cases import CASES
from tests.integration.search.test_conformance import ENGINE, SECRET, ids, run

TEXT_CASES = [case for case in CASES if "text_matches" in case["vql"].get("where", {})]


def test_every_walked_field_has_the_sort_index_the_walk_reads() -> None:
    indexes = {index.name: index for index in search_structures.INDEXES}
    walked = [
        (entity, target)
        for entity in Entity
        for target in FIELDS_BY_ENTITY[entity].values()
        if distinct_values.walks_values(entity, target)
    ]

    assert {(e.value, t.name) for e, t in walked} >= {("contacts", "title"), ("companies", "name")}
    for entity, target in walked:
        index = indexes[f"vql_{entity.value}_{target.name}_sort"]
        assert index.table == entity.value
        assert index.method == f'btree (({target.name} COLLATE "C"), uuid)'


def test_every_walked_column_folds_in_the_default_collation(
    fixture_conn: psycopg.Connection[Any],
) -> None:
    """The walk folds each value COLLATE "default", as the generated columns fold the
    column in its own collation: the two must be the same."""
    for entity in Entity:
        for target in FIELDS_BY_ENTITY[entity].values():
            if not distinct_values.walks_values(entity, target):
                continue
            row = fixture_conn.execute(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
                (entity.value, target.name),
            ).fetchone()
            assert row == {"collation_name": None}, (entity, target.name)


def test_a_company_field_of_contacts_is_not_walked() -> None:
    contacts = FIELDS_BY_ENTITY[Entity.CONTACTS]

    assert not distinct_values.walks_values(Entity.CONTACTS, contacts["company_name"])
    assert distinct_values.walks_values(Entity.CONTACTS, contacts["title"])


@pytest.mark.parametrize("bound", [0, 1, 3])
@pytest.mark.parametrize("case", TEXT_CASES, ids=[case["name"] for case in TEXT_CASES])
def test_the_case_matches_the_same_rows_when_the_walk_gives_up(
    fixture_conn: psycopg.Connection[Any],
    case: dict[str, Any],
    bound: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fixture's text fields hold more than `bound` values: no proof, the conditions
    run as before and must still give the expected rows and count."""
    monkeypatch.setattr(distinct_values, "DISTINCT_VALUES_BOUND", bound)
    vql = {key: value for key, value in case["vql"].items() if key not in ("page", "limit")}
    query = parse_request(vql, entity := Entity(case["entity"]), cursor_secret=SECRET)

    assert ids(run(fixture_conn, case["entity"], case["vql"])) == case["expected"]
    expected_count = len(run(fixture_conn, case["entity"], {**vql, "limit": 100}).data)
    assert ENGINE.count(fixture_conn, entity, query) == expected_count


def proof(conn: psycopg.Connection[Any], entity: str, vql: dict[str, Any]) -> bool:
    """Whether the walk proved the query's one text condition a miss: the value of the
    count statement's `NOT <proof>` InitPlan, read back through EXPLAIN ANALYZE (the
    trigram or sequential scan under the One-Time Filter never runs when it holds)."""
    query = parse_request(vql, Entity(entity), cursor_secret=SECRET)
    (condition,) = [c for g in query.filter.must for c in g.conditions]
    assert isinstance(condition, TextCondition)
    compiled = compile_count(query)
    rows = conn.execute(
        psycopg.sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) ") + compiled.statement,
        compiled.params,
    ).fetchall()
    plan = next(iter(rows[0].values()))[0]["Plan"]
    gated = find(plan, lambda node: "One-Time Filter" in node)
    assert gated is not None, "no One-Time Filter over the scan"
    (scan,) = [child for child in gated["Plans"] if child.get("Parent Relationship") == "Outer"]
    return scan["Actual Loops"] == 0


def find(plan: dict[str, Any], wanted: Any) -> dict[str, Any] | None:
    if wanted(plan):
        return plan
    for child in plan.get("Plans", []):
        found = find(child, wanted)
        if found is not None:
            return found
    return None


def text_where(field: str, value: str, search_type: str) -> dict[str, Any]:
    condition = {"filter_key": field, "text_value": value, "search_type": search_type}
    return {"where": {"text_matches": {"must": [condition]}}}


@pytest.mark.parametrize(
    ("entity", "field", "value", "search_type"),
    [
        ("contacts", "title", "engineer senior", "exact"),
        ("contacts", "title", "qz", "substring"),
        ("contacts", "title", "zzz", "substring"),
        ("contacts", "email", "com acme", "exact"),
        ("companies", "name", "analytics acme", "exact"),
        ("companies", "name", "ghost", "shuffle"),  # only a deleted company has it
    ],
)
def test_a_miss_is_proved_without_the_scan(
    fixture_conn: psycopg.Connection[Any], entity: str, field: str, value: str, search_type: str
) -> None:
    assert proof(fixture_conn, entity, text_where(field, value, search_type))


@pytest.mark.parametrize(
    ("entity", "field", "value", "search_type"),
    [
        ("contacts", "title", "software senior", "exact"),
        ("contacts", "title", "mü", "substring"),
        ("companies", "name", "gén", "substring"),
    ],
)
def test_a_hit_runs_the_scan(
    fixture_conn: psycopg.Connection[Any], entity: str, field: str, value: str, search_type: str
) -> None:
    assert not proof(fixture_conn, entity, text_where(field, value, search_type))


def test_a_miss_runs_the_scan_when_the_field_has_more_values_than_the_bound(
    fixture_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    vql = text_where("title", "engineer senior", "exact")
    assert proof(fixture_conn, "contacts", vql)

    monkeypatch.setattr(distinct_values, "DISTINCT_VALUES_BOUND", 3)

    assert not proof(fixture_conn, "contacts", vql)
