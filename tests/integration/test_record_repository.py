"""Contacts and companies in real PostgreSQL: natural-key upserts, soft delete, updates."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from connectra.db.records import RecordRepository
from connectra.errors import Conflict, NotFound
from connectra.models.fields import Entity
from connectra.models.records import CompanyIn, ContactIn


@pytest.fixture
def contacts() -> RecordRepository:
    return RecordRepository(Entity.CONTACTS, enqueue_search=True)


@pytest.fixture
def companies() -> RecordRepository:
    return RecordRepository(Entity.COMPANIES, enqueue_search=False)


def count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])


def test_upserting_the_same_natural_key_twice_keeps_one_row(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    first = contacts.upsert_many(conn, [ContactIn(email="Jane@Example.com", first_name="Jane")])
    second = contacts.upsert_many(
        conn, [ContactIn(email="jane@example.com", first_name="Janet", title="CTO")]
    )
    conn.commit()
    assert len(first.inserted) == 1 and first.updated == []
    assert second.inserted == [] and second.updated == first.inserted
    assert count(conn, "contacts") == 1
    stored = contacts.require(conn, first.inserted[0])
    assert stored["first_name"] == "Janet" and stored["title"] == "CTO"


def test_a_batch_holding_one_key_twice_keeps_the_last_row(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    result = contacts.upsert_many(
        conn,
        [
            ContactIn(email="a@x.io", title="first"),
            ContactIn(email="b@x.io", title="other"),
            ContactIn(email="A@X.IO", title="last"),
        ],
    )
    conn.commit()
    assert result.duplicates == 1
    assert len(result.inserted) == 2
    titles = {row["title"] for row in conn.execute("SELECT title FROM contacts").fetchall()}
    assert titles == {"last", "other"}


def test_soft_delete_hides_the_row_and_queues_its_removal(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    created = contacts.create(conn, ContactIn(email="gone@x.io"))
    contacts.soft_delete(conn, created["uuid"])
    conn.commit()
    assert contacts.get(conn, created["uuid"]) is None
    assert contacts.get(conn, created["uuid"], include_deleted=True) is not None
    outbox = conn.execute("SELECT operation FROM search_outbox").fetchall()
    assert [row["operation"] for row in outbox] == ["delete"]
    with pytest.raises(NotFound):
        contacts.soft_delete(conn, created["uuid"])


def test_reimporting_a_deleted_record_brings_it_back(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    created = contacts.create(conn, ContactIn(email="back@x.io"))
    contacts.soft_delete(conn, created["uuid"])
    result = contacts.upsert_many(conn, [ContactIn(email="back@x.io")])
    conn.commit()
    assert result.updated == [created["uuid"]]
    assert contacts.get(conn, created["uuid"]) is not None


def test_create_refuses_a_live_duplicate(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    contacts.create(conn, ContactIn(email="dup@x.io"))
    with pytest.raises(Conflict):
        contacts.create(conn, ContactIn(email="DUP@x.io"))


def test_update_validates_the_merged_record_and_keeps_the_uuid(
    conn: psycopg.Connection[Any], contacts: RecordRepository
) -> None:
    created = contacts.create(conn, ContactIn(email="old@x.io", first_name="Old"))
    updated = contacts.update(conn, created["uuid"], {"email": "new@x.io", "title": "VP"})
    conn.commit()
    assert updated["uuid"] == created["uuid"]
    assert updated["email"] == "new@x.io" and updated["first_name"] == "Old"
    # A later upsert by the new email finds the same record, not a second one.
    result = contacts.upsert_many(conn, [ContactIn(email="new@x.io", title="SVP")])
    assert result.updated == [created["uuid"]]
    with pytest.raises(NotFound):
        contacts.update(conn, uuid.uuid4(), {"title": "x"})


def test_companies_upsert_by_domain_from_the_website(
    conn: psycopg.Connection[Any], companies: RecordRepository
) -> None:
    first = companies.upsert_many(conn, [CompanyIn(name="Acme", website="https://www.acme.com")])
    second = companies.upsert_many(
        conn, [CompanyIn(name="Acme Corp", normalized_domain="acme.com", employees_count=50)]
    )
    conn.commit()
    assert second.updated == first.inserted
    stored = companies.require(conn, first.inserted[0])
    assert stored["normalized_domain"] == "acme.com"
    assert stored["employees_count"] == 50
    assert count(conn, "search_outbox") == 0  # postgres search backend: no index work


def test_company_changes_requeue_their_contacts_for_indexing(
    conn: psycopg.Connection[Any],
) -> None:
    companies = RecordRepository(Entity.COMPANIES, enqueue_search=True)
    contacts = RecordRepository(Entity.CONTACTS, enqueue_search=False)
    company = companies.create(conn, CompanyIn(name="Acme", website="acme.com"))
    contacts.create(conn, ContactIn(email="a@acme.com", company_id=company["uuid"]))
    conn.execute("DELETE FROM search_outbox")
    companies.update(conn, company["uuid"], {"employees_count": 10})
    conn.commit()
    queued = {row["entity"] for row in conn.execute("SELECT entity FROM search_outbox")}
    assert queued == {"companies", "contacts"}


def test_a_locked_company_does_not_hold_up_contacts_referencing_it(
    conn: psycopg.Connection[Any], clean_db: str, companies: RecordRepository
) -> None:
    company = uuid.uuid4()
    conn.execute("INSERT INTO companies (uuid, name) VALUES (%s, 'Acme')", (company,))
    conn.commit()
    assert companies.get(conn, company, lock=True) is not None  # held until the rollback
    with psycopg.connect(clean_db, autocommit=True) as other:
        # The FK check (at this autocommit's commit) takes KEY SHARE on the company: it
        # must not wait for the update lock.
        other.execute("SET lock_timeout = '2s'")
        other.execute(
            "INSERT INTO contacts (uuid, email, company_id) VALUES (%s, 'a@acme.io', %s)",
            (uuid.uuid4(), company),
        )
    conn.rollback()
    assert count(conn, "contacts") == 1
