"""Aggregations on the OpenSearch path without a cluster: every case of the aggregation
conformance suite, sent through `connectra.search.opensearch_aggregate` to the fake
cluster over the fixture's documents, equals the reference evaluator; and the bodies it
sends match the golden files (`golden_aggregations/<case>.json`; regenerate on purpose
with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/opensearch/test_aggregation_dsl.py`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity
from connectra.search import opensearch_aggregate
from connectra.search.index_model import mappings
from connectra.vql import aggregation_dsl
from connectra.vql.aggregation_evaluate import aggregate
from connectra.vql.aggregation_request import parse_aggregate_payload
from tests.integration.search.aggregation_cases import AGGREGATION_CASES
from tests.integration.search.fixture import COMPANIES, COMPANIES_BY_UUID, CONTACTS
from tests.unit.opensearch import fake_cluster
from tests.unit.opensearch.fixture_docs import fixture_documents

GOLDEN = Path(__file__).parent / "golden_aggregations"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
IDS = [case["name"] for case in AGGREGATION_CASES]


def run_on_fake_cluster(
    entity: Entity, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def send(search_body: dict[str, Any]) -> dict[str, Any]:
        sent.append(json.loads(json.dumps(search_body)))  # as the wire carries it
        return fake_cluster.search(mappings(entity), fixture_documents(entity), sent[-1])

    query = parse_aggregate_payload(body, entity)
    return opensearch_aggregate.aggregate(send, query), sent


def reference(entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    rows = CONTACTS if entity is Entity.CONTACTS else COMPANIES
    return aggregate(parse_aggregate_payload(body, entity), rows, COMPANIES_BY_UUID)


@pytest.mark.parametrize("case", AGGREGATION_CASES, ids=IDS)
def test_opensearch_path_aggregates_as_the_reference(case: dict[str, Any]) -> None:
    entity = Entity(case["entity"])

    found, _sent = run_on_fake_cluster(entity, case["body"])

    assert found == reference(entity, case["body"])
    if "expected" in case:
        assert found == case["expected"]


@pytest.mark.parametrize("case", AGGREGATION_CASES, ids=IDS)
def test_bodies_match_the_golden_file(case: dict[str, Any]) -> None:
    _found, sent = run_on_fake_cluster(Entity(case["entity"]), case["body"])
    text = json.dumps(sent, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{case['name']}.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file for {case['name']}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_every_golden_file_belongs_to_a_case() -> None:
    assert sorted(path.stem for path in GOLDEN.glob("*.json")) == sorted(IDS)


def test_one_request_when_no_histogram_or_array_needs_more() -> None:
    body = {"aggregations": [{"name": "s", "type": "terms", "field": "seniority"}]}

    _found, sent = run_on_fake_cluster(Entity.CONTACTS, body)

    assert len(sent) == 1


def test_array_other_count_needs_the_records_holding_other_keys() -> None:
    # ct03 holds engineering (returned) and product (not): it is one record in other_count.
    body = {"aggregations": [{"name": "d", "type": "terms", "field": "departments", "size": 1}]}

    found, sent = run_on_fake_cluster(Entity.CONTACTS, body)

    assert len(sent) == 3
    assert sent[1]["aggs"]["a0"]["terms"]["exclude"] == ["engineering"]
    assert found["aggregations"]["d"] == reference(Entity.CONTACTS, body)["aggregations"]["d"]


def test_too_many_other_keys_is_a_400_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregation_dsl, "OUTSIDE_TERMS_LIMIT", 2)
    body = {"aggregations": [{"name": "d", "type": "terms", "field": "departments", "size": 1}]}

    with pytest.raises(ValidationFailed) as raised:
        run_on_fake_cluster(Entity.CONTACTS, body)

    assert raised.value.details[0]["path"] == "aggregations[0].field"
