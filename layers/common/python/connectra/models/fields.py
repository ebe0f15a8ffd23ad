"""The field catalogue of each entity: one definition used by VQL, filters, ingest and export."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    TEXT = "text"  # free text: text_matches (exact/shuffle/substring) and keyword_match
    KEYWORD = "keyword"  # a categorical string: keyword_match
    KEYWORD_ARRAY = "keyword_array"  # text[]: keyword_match on any element
    NUMBER = "number"  # bigint: range_query
    DATE = "date"  # timestamptz: range_query
    UUID = "uuid"  # identifiers: keyword_match


class Entity(StrEnum):
    CONTACTS = "contacts"
    COMPANIES = "companies"


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind
    sortable: bool = False
    writable: bool = True

    @property
    def is_array(self) -> bool:
        return self.kind is FieldKind.KEYWORD_ARRAY

    @property
    def supports_text(self) -> bool:
        return self.kind is FieldKind.TEXT

    @property
    def supports_keyword(self) -> bool:
        return self.kind in (
            FieldKind.TEXT,
            FieldKind.KEYWORD,
            FieldKind.KEYWORD_ARRAY,
            FieldKind.UUID,
        )

    @property
    def supports_range(self) -> bool:
        return self.kind in (FieldKind.NUMBER, FieldKind.DATE)


def _fields(*items: Field) -> dict[str, Field]:
    return {item.name: item for item in items}


K = FieldKind

COMPANY_FIELDS: dict[str, Field] = _fields(
    Field("uuid", K.UUID, sortable=True, writable=False),
    Field("name", K.TEXT, sortable=True),
    Field("normalized_domain", K.KEYWORD, sortable=True),
    Field("website", K.TEXT),
    Field("linkedin_url", K.KEYWORD),
    Field("industries", K.KEYWORD_ARRAY),
    Field("keywords", K.KEYWORD_ARRAY),
    Field("technologies", K.KEYWORD_ARRAY),
    Field("employees_count", K.NUMBER, sortable=True),
    Field("annual_revenue", K.NUMBER, sortable=True),
    Field("total_funding", K.NUMBER, sortable=True),
    Field("address", K.TEXT),
    Field("city", K.KEYWORD, sortable=True),
    Field("state", K.KEYWORD, sortable=True),
    Field("country", K.KEYWORD, sortable=True),
    Field("phone", K.KEYWORD),
    Field("created_at", K.DATE, sortable=True, writable=False),
    Field("updated_at", K.DATE, sortable=True, writable=False),
)

CONTACT_OWN_FIELDS: dict[str, Field] = _fields(
    Field("uuid", K.UUID, sortable=True, writable=False),
    Field("first_name", K.TEXT, sortable=True),
    Field("last_name", K.TEXT, sortable=True),
    Field("email", K.TEXT, sortable=True),
    Field("title", K.TEXT, sortable=True),
    Field("seniority", K.KEYWORD, sortable=True),
    Field("departments", K.KEYWORD_ARRAY),
    Field("mobile_phone", K.KEYWORD),
    Field("email_status", K.KEYWORD, sortable=True),
    Field("linkedin_url", K.KEYWORD),
    Field("city", K.KEYWORD, sortable=True),
    Field("state", K.KEYWORD, sortable=True),
    Field("country", K.KEYWORD, sortable=True),
    Field("company_id", K.UUID),
    Field("created_at", K.DATE, sortable=True, writable=False),
    Field("updated_at", K.DATE, sortable=True, writable=False),
)

COMPANY_PREFIX = "company_"

# Contacts are searchable by their company's fields under a `company_` prefix.
CONTACT_COMPANY_FIELDS: dict[str, Field] = {
    COMPANY_PREFIX + name: Field(
        COMPANY_PREFIX + name, field.kind, sortable=field.sortable, writable=False
    )
    for name, field in COMPANY_FIELDS.items()
    if name not in ("uuid", "created_at", "updated_at")
}

CONTACT_FIELDS: dict[str, Field] = {**CONTACT_OWN_FIELDS, **CONTACT_COMPANY_FIELDS}

FIELDS_BY_ENTITY: dict[Entity, dict[str, Field]] = {
    Entity.CONTACTS: CONTACT_FIELDS,
    Entity.COMPANIES: COMPANY_FIELDS,
}

# The columns stored in each table, in table order (no `company_` fields, no deleted_at).
TABLE_COLUMNS: dict[Entity, tuple[str, ...]] = {
    Entity.CONTACTS: tuple(CONTACT_OWN_FIELDS),
    Entity.COMPANIES: tuple(COMPANY_FIELDS),
}

WRITABLE_COLUMNS: dict[Entity, tuple[str, ...]] = {
    entity: tuple(name for name in columns if FIELDS_BY_ENTITY[entity][name].writable)
    for entity, columns in TABLE_COLUMNS.items()
}


def company_field_of(contact_field: str) -> str | None:
    """`company_employees_count` → `employees_count`; None for a contact's own field."""
    if contact_field in CONTACT_COMPANY_FIELDS:
        return contact_field[len(COMPANY_PREFIX) :]
    return None


# Contacts' own sortable text and keyword fields: each has a `(field COLLATE "C", uuid)` sort
# index (db/search_structures.py) that the PostgreSQL engine's probe walks (vql/sql.py).
CONTACT_TEXT_SORTS = tuple(
    name
    for name, target in FIELDS_BY_ENTITY[Entity.CONTACTS].items()
    if target.sortable
    and target.kind in (FieldKind.TEXT, FieldKind.KEYWORD)
    and company_field_of(name) is None
)
# Companies' keyword sort keys with a few dozen values: thousands of companies share each.
# Contacts sorted by them are paged one value's companies at a time (vql/sql.py), each key
# with a companies sort index (db/search_structures.py).
FEW_VALUED_COMPANY_SORTS = ("city", "state", "country")
# Contacts' sort keys that correlate with their country (a city or state lies in one):
# each has a `(lower(country), key COLLATE "C", uuid)` index, so a page filtered on one
# country reads that country's rows in key order (vql/sql.py `window_parts`).
COUNTRY_SCOPED_CONTACT_SORTS = ("city", "state")
# Companies' text fields whose short substrings (1-2 characters, matched at word starts)
# an index serves: a GIN on connectra_word_start_grams(folded) (migration 0024,
# db/search_structures.py). Without it such a term filters a pass over every company
# (vql/sql.py); contacts' short terms are proved absent on their few distinct values.
WORD_START_INDEXED_COMPANY_FIELDS = ("name",)
