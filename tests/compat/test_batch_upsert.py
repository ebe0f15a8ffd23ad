"""The README's batch-upsert routes: `/contacts/batch-upsert`, `/companies/batch-upsert`
(aliases of today's `/bulk`) and `/common/batch-upsert` (raw, CSV-like rows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.compat.conftest import app_client


@pytest.fixture
def api(clean_db: str) -> Iterator[TestClient]:
    with app_client() as client:
        yield client


def test_entity_batch_upsert_is_the_bulk_route(api: TestClient) -> None:
    body = {"records": [{"name": "Acme", "normalized_domain": "acme.com"}, {"name": ""}]}

    legacy = api.post("/companies/batch-upsert", json=body)
    current = api.post("/companies/bulk", json=body)

    assert legacy.status_code == current.status_code == 200
    assert (legacy.json()["inserted"], legacy.json()["failed"]) == (1, 1)
    assert (current.json()["updated"], current.json()["failed"]) == (1, 1)


def test_common_batch_upsert_maps_csv_headers_to_fields(api: TestClient) -> None:
    company = api.post("/companies/create", json={"name": "Acme", "normalized_domain": "acme.com"})
    rows = [
        {
            "First Name": "Ada",
            "Last Name": "Lovelace",
            "Email": "ada@example.com",
            "Company Id": company.json()["data"]["uuid"],
            "Favourite Colour": "green",
        },
        {"first_name": "Alan", "EMAIL": "alan@example.com", "Title": ""},
        {"First Name": "Bad", "Email": "not-an-email"},
    ]

    response = api.post("/common/batch-upsert", json={"service": "contacts", "rows": rows})

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["inserted"], result["updated"], result["failed"]) == (2, 0, 1)
    assert result["results"][2]["errors"][0]["path"] == "records[2].email"
    assert result["warnings"] == ["rows[].Favourite Colour: no such column for contacts, ignored"]
    found = api.post(
        "/contacts/", json={"where": {"keyword_match": {"must": {"email": "ada@example.com"}}}}
    ).json()["data"]
    assert (
        found[0]["first_name"] == "Ada" and found[0]["company_id"] == company.json()["data"]["uuid"]
    )


def test_common_batch_upsert_needs_a_known_entity(api: TestClient) -> None:
    response = api.post("/common/batch-upsert", json={"service": "people", "rows": []})

    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "service"


@pytest.mark.parametrize(
    ("entity", "record", "natural_key"),
    [
        ("contacts", {"first_name": "Ada", "email": "ada@example.com"}, "email"),
        ("companies", {"name": "Acme", "normalized_domain": "acme.com"}, "normalized_domain"),
    ],
)
def test_the_system_doc_write_operations(
    api: TestClient, entity: str, record: dict[str, str], natural_key: str
) -> None:
    # "Supported Operations": create, update, upsert (by natural key), bulk, soft delete
    created = api.post(f"/{entity}/create", json=record)
    uuid = created.json()["data"]["uuid"]
    updated = api.put(f"/{entity}/{uuid}", json={"city": "Austin"})
    upserted = api.post(f"/{entity}/upsert", json={**record, "state": "Texas"})
    bulk = api.post(f"/{entity}/bulk", json={"records": [record]})
    deleted = api.delete(f"/{entity}/{uuid}")

    assert created.status_code == 201
    assert updated.status_code == 200 and updated.json()["data"]["city"] == "Austin"
    assert upserted.json()["status"] == "updated"
    assert upserted.json()["data"][natural_key] == record[natural_key]
    assert bulk.json()["results"][0]["uuid"] == uuid
    assert deleted.status_code == 204
    # "Error Handling": 404 for a missing record, 400 for a validation error
    assert api.put(f"/{entity}/{uuid}", json={"city": "x"}).status_code == 404
    assert api.post(f"/{entity}/create", json={natural_key: ""}).status_code == 400


def combined_rows() -> list[dict[str, str]]:
    """Contact rows carrying their company, as a people-search export has them."""
    return [
        {
            "Email": "ada@analytical.example",
            "First Name": "Ada",
            "Company": "Analytical Engines",
            "Website": "https://www.analytical.example/about",
            "# Employees": "51-200",
            "Industry": "Computer Software",
            "Annual Revenue": "$5M",
        },
        {"Email": "grace@gmail.com", "First Name": "Grace", "Company": "Compilers Inc"},
        {
            "Email": "charles@analytical.example",
            "First Name": "Charles",
            "Company": "Analytical Engines Ltd",
            "# Employees": "1,001-5,000",
            "Industry": "Machinery",
            "Annual Revenue": "7,500,000",
        },
    ]


def stored(api: TestClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from connectra.db.pool import connection

    with connection() as conn:
        contacts = conn.execute(
            "SELECT uuid, email, company_id, updated_at FROM contacts ORDER BY email"
        ).fetchall()
        companies = conn.execute(
            "SELECT uuid, name, normalized_domain, employees_count, industries, annual_revenue, "
            "updated_at FROM companies ORDER BY name"
        ).fetchall()
    return contacts, companies


def test_common_batch_upsert_creates_and_links_the_companies_of_combined_rows(
    api: TestClient,
) -> None:
    response = api.post(
        "/common/batch-upsert", json={"service": "contacts", "rows": combined_rows()}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["failed"]) == (3, 0)
    contacts, companies = stored(api)
    by_name = {company["name"]: company for company in companies}
    assert set(by_name) == {"Analytical Engines Ltd", "Compilers Inc"}
    # Ada's and Charles's rows name one company (the domain): the last row wins.
    analytical = by_name["Analytical Engines Ltd"]
    assert analytical["normalized_domain"] == "analytical.example"
    assert (analytical["employees_count"], analytical["annual_revenue"]) == (1001, 7_500_000)
    assert analytical["industries"] == ["Machinery"]
    # A free-mail address is no employer's domain: the company is keyed by its name.
    assert by_name["Compilers Inc"]["normalized_domain"] is None
    links = {contact["email"]: contact["company_id"] for contact in contacts}
    assert links["ada@analytical.example"] == links["charles@analytical.example"]
    assert links["ada@analytical.example"] == analytical["uuid"]
    assert links["grace@gmail.com"] == by_name["Compilers Inc"]["uuid"]


def test_common_batch_upsert_of_the_same_rows_again_changes_nothing(api: TestClient) -> None:
    api.post("/common/batch-upsert", json={"service": "contacts", "rows": combined_rows()})
    before = stored(api)

    again = api.post("/common/batch-upsert", json={"service": "contacts", "rows": combined_rows()})

    assert again.status_code == 200, again.text
    assert (again.json()["inserted"], again.json()["updated"]) == (0, 3)
    assert stored(api) == before  # updated_at included: no row was rewritten


def test_common_batch_upsert_updates_a_stored_company_with_the_last_row(api: TestClient) -> None:
    existing = api.post(
        "/companies/create",
        json={"name": "AE", "normalized_domain": "analytical.example", "city": "London"},
    ).json()["data"]
    rows = combined_rows()
    rows.append({**rows[0], "Email": "babbage@analytical.example", "# Employees": "11-50"})

    response = api.post("/common/batch-upsert", json={"service": "contacts", "rows": rows})

    assert response.status_code == 200, response.text
    contacts, companies = stored(api)
    analytical = next(c for c in companies if c["normalized_domain"] == "analytical.example")
    assert str(analytical["uuid"]) == existing["uuid"]  # the stored company, not a second one
    assert (analytical["name"], analytical["employees_count"]) == ("Analytical Engines", 11)
    assert len(companies) == 2
    assert {c["company_id"] for c in contacts if c["email"].endswith("analytical.example")} == {
        analytical["uuid"]
    }


def test_common_batch_upsert_refuses_a_bad_company_value_naming_the_row_and_field(
    api: TestClient,
) -> None:
    rows = combined_rows()
    rows[1]["Annual Revenue"] = "a lot"

    response = api.post("/common/batch-upsert", json={"service": "contacts", "rows": rows})

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["inserted"], result["failed"]) == (2, 1)
    assert result["results"][1]["errors"][0]["path"] == "records[1].company_annual_revenue"
    contacts, _ = stored(api)
    assert [contact["email"] for contact in contacts] == [
        "ada@analytical.example",
        "charles@analytical.example",
    ]
