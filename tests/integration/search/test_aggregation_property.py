"""Property: for random rows, a random VQL where and random aggregations, the PostgreSQL
engine and the OpenSearch path (DSL through the fake cluster) answer exactly what the
reference evaluator (`connectra.vql.aggregation_evaluate`) answers."""

from __future__ import annotations

from typing import Any

import psycopg
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from connectra.errors import ValidationFailed
from connectra.models.fields import Entity
from connectra.search import opensearch_aggregate
from connectra.search.index_model import build_document, document_id, mappings
from connectra.search.postgres import PostgresSearchEngine
from connectra.vql.aggregation_evaluate import aggregate
from connectra.vql.aggregation_request import parse_aggregate_payload
from tests.integration.search.conftest import insert_rows
from tests.integration.search.test_property import (
    assemble,
    build_rows,
    clauses,
    company_rows,
    contact_rows,
    fix_ranges,
    property_conn,  # noqa: F401 (the module-scoped fixture, shared)
)
from tests.unit.opensearch import fake_cluster

ENGINE = PostgresSearchEngine(cursor_secret="aggregation-property")

terms = st.fixed_dictionaries(
    {
        "type": st.just("terms"),
        "field": st.sampled_from(
            ["seniority", "departments", "company_industries", "title", "last_name"]
        ),
        "size": st.integers(1, 3),
    }
)
bound = st.none() | st.integers(-1, 51)
ranges = st.fixed_dictionaries(
    {
        "type": st.just("range"),
        "field": st.just("company_employees_count"),
        "ranges": st.lists(
            st.tuples(bound, bound)
            .filter(lambda pair: pair != (None, None))
            .map(lambda pair: (min(pair), max(pair) + 1) if None not in pair else pair)
            .map(
                lambda pair: {
                    k: v for k, v in zip(("gte", "lt"), pair, strict=True) if v is not None
                }
            ),
            min_size=1,
            max_size=3,
        ),
    }
)
histograms = st.fixed_dictionaries(
    {
        "type": st.just("date_histogram"),
        "field": st.just("created_at"),
        "interval": st.sampled_from(["day", "week", "month", "year"]),
    }
)
requests = st.fixed_dictionaries(
    {
        "where": st.lists(clauses, max_size=2).map(assemble),
        "aggregations": st.lists(st.one_of(terms, ranges, histograms), min_size=1, max_size=5).map(
            lambda items: [{**item, "name": f"a{index}"} for index, item in enumerate(items)]
        ),
    }
)


def on_fake_cluster(
    query: Any, companies: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> dict[str, Any]:
    by_uuid = {company["uuid"]: company for company in companies}
    docs = {}
    for contact in contacts:
        if contact["deleted_at"] is not None:
            continue
        row = dict(contact)
        company = by_uuid.get(contact["company_id"]) or {}
        row.update({f"company__{name}": value for name, value in company.items()})
        docs[document_id(row)] = build_document(Entity.CONTACTS, row)
    index = mappings(Entity.CONTACTS)
    return opensearch_aggregate.aggregate(
        lambda body: fake_cluster.search(index, docs, body), query
    )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(companies=company_rows, contacts=contact_rows, body=requests)
def test_both_engines_agree_with_the_reference_evaluator(
    property_conn: psycopg.Connection[Any],  # noqa: F811
    companies: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    body: dict[str, Any],
) -> None:
    company_table, contact_table = build_rows(companies, contacts)
    try:
        query = parse_aggregate_payload(fix_ranges(body), Entity.CONTACTS)
    except ValidationFailed as exc:
        # A where over the query budget (e.g. two substring terms shorter than 3
        # characters) is refused before any engine runs it: nothing to compare.
        if any(problem.get("type") == "over_budget" for problem in exc.details or []):
            reject()
        raise
    try:
        insert_rows(property_conn, "companies", company_table)
        if contact_table:
            insert_rows(property_conn, "contacts", contact_table)
        found = ENGINE.aggregate(property_conn, query).model_dump(exclude={"cached"})
    finally:
        property_conn.rollback()

    expected = aggregate(query, contact_table, {c["uuid"]: c for c in company_table})
    assert found == expected
    assert on_fake_cluster(query, company_table, contact_table) == expected
