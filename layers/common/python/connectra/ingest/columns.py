"""Header → field mapping: case-insensitive, with the aliases exporters of CRMs use.

Contacts may carry their company by reference instead of by `company_id`: the columns
`Company Name`, `Company Domain`, `Company Website` and `Company LinkedIn URL` map to a
`CompanyRef`. The loader links the contact to the company with that domain (or, without
a domain, that name), and creates a minimal company (name, domain, website, LinkedIn) when
none exists yet, so a contacts file exported from a CRM imports in one step. An explicit
`company_id` wins over a reference.

Unknown columns are ignored and reported once per job, never per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from connectra.models.fields import Entity
from connectra.models.records import RECORD_MODELS

# Keys of a contact's company reference (not fields of ContactIn).
COMPANY_REF_PREFIX = "company_ref."
COMPANY_REF_FIELDS = ("name", "domain", "website", "linkedin_url")

_NOT_WORD = re.compile(r"[^a-z0-9]+")

CONTACT_ALIASES: dict[str, str] = {
    "first": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "email_address": "email",
    "e_mail": "email",
    "work_email": "email",
    "job_title": "title",
    "position": "title",
    "department": "departments",
    "phone": "mobile_phone",
    "mobile": "mobile_phone",
    "mobile_number": "mobile_phone",
    "phone_number": "mobile_phone",
    "linkedin": "linkedin_url",
    "linkedin_profile": "linkedin_url",
    "person_linkedin_url": "linkedin_url",
    "email_verification_status": "email_status",
    "company": COMPANY_REF_PREFIX + "name",
    "company_name": COMPANY_REF_PREFIX + "name",
    "organization": COMPANY_REF_PREFIX + "name",
    "company_domain": COMPANY_REF_PREFIX + "domain",
    "company_website": COMPANY_REF_PREFIX + "website",
    "company_url": COMPANY_REF_PREFIX + "website",
    "company_linkedin_url": COMPANY_REF_PREFIX + "linkedin_url",
    "company_linkedin": COMPANY_REF_PREFIX + "linkedin_url",
    "company_uuid": "company_id",
}

COMPANY_ALIASES: dict[str, str] = {
    "company": "name",
    "company_name": "name",
    "organization": "name",
    "domain": "normalized_domain",
    "company_domain": "normalized_domain",
    "website_url": "website",
    "company_website": "website",
    "url": "website",
    "linkedin": "linkedin_url",
    "company_linkedin_url": "linkedin_url",
    "industry": "industries",
    "keyword": "keywords",
    "technology": "technologies",
    "tech_stack": "technologies",
    "employees": "employees_count",
    "employee_count": "employees_count",
    "number_of_employees": "employees_count",
    "headcount": "employees_count",
    "revenue": "annual_revenue",
    "funding": "total_funding",
    "street": "address",
    "street_address": "address",
    "phone_number": "phone",
    "company_phone": "phone",
}

ALIASES: dict[Entity, dict[str, str]] = {
    Entity.CONTACTS: CONTACT_ALIASES,
    Entity.COMPANIES: COMPANY_ALIASES,
}


def normalize_header(name: str) -> str:
    """`\\ufeffFirst Name ` → `first_name`, `# Employees` → `employees`."""
    return _NOT_WORD.sub("_", name.lstrip("\ufeff").strip().lower()).strip("_")


def field_for(entity: Entity, name: str) -> str | None:
    """The model field (or company-reference key) a column feeds, or None if unknown."""
    normalized = normalize_header(name)
    if normalized in RECORD_MODELS[entity].model_fields:
        return normalized
    return ALIASES[entity].get(normalized)


@dataclass(frozen=True)
class ColumnMap:
    """How each column of a file's header feeds the record model."""

    entity: Entity
    header: tuple[str, ...]
    fields: tuple[str | None, ...]  # per column: the field it feeds, None when ignored
    ignored: tuple[str, ...]  # unknown or repeated columns, in header order

    @classmethod
    def from_header(cls, entity: Entity, header: Sequence[str]) -> ColumnMap:
        fields: list[str | None] = []
        ignored: list[str] = []
        taken: set[str] = set()
        for name in header:
            field = field_for(entity, name)
            if field is None or field in taken:  # a repeated field: the first column wins
                fields.append(None)
                ignored.append(name)
            else:
                taken.add(field)
                fields.append(field)
        return cls(entity, tuple(header), tuple(fields), tuple(ignored))

    @property
    def positions(self) -> tuple[tuple[int, str], ...]:
        return tuple((index, field) for index, field in enumerate(self.fields) if field)

    def column_of(self, field: str) -> str:
        """The header name a field came from (for row errors), else the field itself."""
        for name, mapped in zip(self.header, self.fields, strict=True):
            if mapped == field:
                return name
        return field
