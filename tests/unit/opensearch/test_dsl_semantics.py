"""The DSL's meaning without a cluster: every conformance case, evaluated by the in-process
interpreter of `fake_cluster` over the fixture's documents, returns the expected ids.

This checks that the compiler, the mappings and the document builder agree with each
other and with the AST semantics AS THE INTERPRETER READS OPENSEARCH (see its docstring
for what that does not prove; the real-cluster run is test_conformance_cluster.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from connectra.models.fields import Entity
from connectra.search.index_model import mappings
from connectra.vql.cursor import encode_cursor
from connectra.vql.dsl import compile_count, compile_search, from_sort_values
from connectra.vql.parse import parse_request
from tests.integration.search.cases import CASES
from tests.integration.search.fixture import short_id_of
from tests.unit.opensearch import fake_cluster
from tests.unit.opensearch.fixture_docs import fixture_documents

SECRET = "semantics"


def run(entity: Entity, vql: dict[str, Any]) -> tuple[list[str], str | None]:
    query = parse_request(vql, entity, cursor_secret=SECRET)
    response = fake_cluster.search(
        mappings(entity), fixture_documents(entity), compile_search(query)
    )
    hits = response["hits"]["hits"]
    cursor = None
    if len(hits) > query.limit:
        values = from_sort_values(query.sort, hits[query.limit - 1]["sort"])
        cursor = encode_cursor(values, query.fingerprint, SECRET)
    return [short_id_of(hit["_id"]) for hit in hits[: query.limit]], cursor


def test_fixture_documents_satisfy_the_strict_mappings() -> None:
    for entity in Entity:
        for document in fixture_documents(entity).values():
            fake_cluster.check_document(mappings(entity), document)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_means_what_the_ast_says(case: dict[str, Any]) -> None:
    ids, _ = run(Entity(case["entity"]), case["vql"])
    assert ids == case["expected"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if "walk" in c], ids=[c["name"] for c in CASES if "walk" in c]
)
def test_search_after_walks_every_row_once(case: dict[str, Any]) -> None:
    entity = Entity(case["entity"])
    vql = {**case["vql"], "limit": case["walk"]}
    seen: list[str] = []
    for _ in range(50):
        ids, cursor = run(entity, vql)
        seen.extend(ids)
        if cursor is None:
            break
        vql = {**vql, "search_after": cursor}
    assert seen == case["expected"]


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if "page" not in c["vql"] and "limit" not in c["vql"]],
    ids=[c["name"] for c in CASES if "page" not in c["vql"] and "limit" not in c["vql"]],
)
def test_count_body_counts_every_match(case: dict[str, Any]) -> None:
    entity = Entity(case["entity"])
    query = parse_request(case["vql"], entity, cursor_secret=SECRET)
    response = fake_cluster.search(
        mappings(entity), fixture_documents(entity), compile_count(query)
    )
    assert response["hits"]["hits"] == []
    assert response["hits"]["total"]["value"] == len(case["expected"])
