"""filters_data counts kept by deltas equal a recount from scratch after any sequence of writes."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from connectra.db.filter_counts import FilterChanges
from connectra.db.filters import rebuild_filter_values
from connectra.db.records import RecordRepository
from connectra.db.upsert import bulk_upsert
from connectra.models.fields import Entity
from connectra.models.records import ContactIn

TITLES = ["CEO", "ceo", "CTO", "Ingénieur", "INGÉNIEUR", None]
DEPARTMENTS = ["Sales", "sales", "R&D", "Ops", "Légal"]
PEOPLE = [f"p{index}@example.com" for index in range(6)]

contact = st.builds(
    lambda email, title, departments, city: {
        "email": email,
        "title": title,
        "departments": departments,
        "city": city,
    },
    st.sampled_from(PEOPLE),
    st.sampled_from(TITLES),
    st.lists(st.sampled_from(DEPARTMENTS), max_size=3),
    st.sampled_from(["Paris", "paris", "Lyon", None]),
)
write = st.tuples(st.just("upsert"), st.lists(contact, min_size=1, max_size=5))
delete = st.tuples(st.just("delete"), st.sampled_from(PEOPLE))


def compare(conn: psycopg.Connection[Any]) -> None:
    query = "SELECT service, filter_key, value, count FROM filters_data ORDER BY 1, 2, 3"
    kept = conn.execute(query).fetchall()
    recounted: list[Any] = []
    with conn.transaction():
        rebuild_filter_values(conn, Entity.CONTACTS)
        recounted.extend(conn.execute(query).fetchall())
        raise psycopg.Rollback()
    assert kept == recounted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(write, delete), min_size=1, max_size=8))
def test_counts_after_upserts_and_deletes_equal_a_recount(
    database_url: str, steps: list[tuple[str, Any]]
) -> None:
    repository = RecordRepository(Entity.CONTACTS, enqueue_search=False)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute("TRUNCATE contacts, filters_data CASCADE")
        for action, argument in steps:
            changes = FilterChanges.for_entity(conn, Entity.CONTACTS)
            if action == "upsert":
                rows = [ContactIn.model_validate(item).to_row() for item in argument]
                result = bulk_upsert(
                    conn,
                    Entity.CONTACTS,
                    rows,
                    enqueue_search=False,
                    previous_columns=changes.columns,
                )
                changes.remove(result.previous)
                changes.add(result.rows)
            else:
                record_id = ContactIn(email=argument).record_uuid()
                before = repository.get(conn, record_id, lock=True)
                if before is None:
                    continue
                repository.soft_delete(conn, record_id)
                changes.remove([before])
            changes.apply(conn)
            conn.commit()
        compare(conn)
        assert (
            conn.execute("SELECT count(*) AS n FROM filters_data WHERE count <= 0").fetchone()["n"]
            == 0
        )
        conn.execute("TRUNCATE contacts, filters_data CASCADE")
        conn.commit()


def filter_values(client: TestClient, service: str, key: str) -> dict[str, tuple[str, int]]:
    response = client.post(f"/common/{service}/filters/data", json={"filter_key": key})
    assert response.status_code == 200, response.text
    return {
        item["value"]: (item["display_value"], item["count"]) for item in response.json()["data"]
    }


def test_api_writes_keep_counts_and_company_names_current(client: TestClient) -> None:
    company = client.post("/companies/create", json={"name": "Acme", "website": "acme.io"})
    assert company.status_code == 201, company.text
    company_id = company.json()["data"]["uuid"]
    first = client.post("/contacts/create", json={"email": "a@x.io", "title": "CEO"}).json()
    client.post("/contacts/upsert", json={"email": "b@x.io", "title": "ceo"})
    # Two records of one batch with the same email: one record is written, counted once.
    bulk = client.post(
        "/contacts/bulk",
        json={
            "records": [{"email": "c@x.io", "title": "CTO"}, {"email": "C@x.io", "title": "CFO"}]
        },
    )
    assert bulk.status_code == 200, bulk.text
    assert filter_values(client, "contacts", "title") == {"ceo": ("CEO", 2), "cfo": ("CFO", 1)}

    client.put(f"/contacts/{first['data']['uuid']}", json={"title": "CFO"})
    client.put(f"/companies/{company_id}", json={"name": "Acme Corp"})
    # A decrement keeps the display it finds; a company's uuid shows its latest name.
    assert filter_values(client, "contacts", "title") == {"ceo": ("CEO", 1), "cfo": ("CFO", 2)}
    assert filter_values(client, "companies", "uuid") == {company_id: ("Acme Corp", 1)}

    client.delete(f"/companies/{company_id}")
    assert filter_values(client, "companies", "uuid") == {}
