"""Load the generated sample set straight into PostgreSQL (once)."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from connectra.db.filters import rebuild_filter_values
from connectra.db.upsert import bulk_upsert
from connectra.local.sample import company_rows, contact_rows
from connectra.models.fields import Entity
from connectra.models.records import CompanyIn, ContactIn


def seed_sample_data(database_url: str, companies: int, contacts: int) -> int:
    """Insert the sample companies and contacts when the contacts table is empty."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        if conn.execute("SELECT 1 FROM contacts LIMIT 1").fetchone():
            return 0
        company_data = company_rows(companies)
        company_records = [CompanyIn.model_validate(row).to_row() for row in company_data]
        contact_records = [
            ContactIn.model_validate(row).to_row() for row in contact_rows(contacts, company_data)
        ]
        bulk_upsert(conn, Entity.COMPANIES, company_records, enqueue_search=False)
        bulk_upsert(conn, Entity.CONTACTS, contact_records, enqueue_search=False)
        for entity in Entity:
            rebuild_filter_values(conn, entity)
        conn.commit()
    return len(company_records) + len(contact_records)
