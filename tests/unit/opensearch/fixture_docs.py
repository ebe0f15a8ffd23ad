"""The conformance fixture (tests/integration/search/fixture.py) as OpenSearch documents.

Built the way `connectra.search.indexing` builds them from PostgreSQL rows: contacts carry
their company's columns as `company__<column>`; soft-deleted records are not indexed.
"""

from __future__ import annotations

from typing import Any

from connectra.models.fields import Entity
from connectra.search.index_model import build_document, document_id
from tests.integration.search.fixture import COMPANIES, COMPANIES_BY_UUID, CONTACTS


def contact_row(contact: dict[str, Any]) -> dict[str, Any]:
    row = dict(contact)
    company = COMPANIES_BY_UUID.get(contact["company_id"]) or {}
    row.update({f"company__{name}": value for name, value in company.items()})
    return row


def fixture_documents(entity: Entity) -> dict[str, dict[str, Any]]:
    if entity is Entity.CONTACTS:
        rows = [contact_row(contact) for contact in CONTACTS]
    else:
        rows = [dict(company) for company in COMPANIES]
    return {
        document_id(row): build_document(entity, row) for row in rows if row["deleted_at"] is None
    }
