"""Header → field mapping: explicit mapping, then a preset, then names and built-in aliases.

Each column of a file's header feeds at most one field, decided in this order:

1. the request's explicit mapping (`{"Person Linkedin Url": "linkedin_url"}`; a column
   mapped to null is ignored on purpose);
2. the request's preset (presets.py: the export headers of a B2B data or CRM tool);
3. the column's own name, case-insensitively (`First Name` → `first_name`), or a built-in
   alias (the tables below, documented in docs/import-mapping.md).

Contacts may carry their company (combined rows, ingest/combined.py): a company field
is addressed as `company_<field>` (`company_employees_count`, as search names it), and
columns only a company has (`Website`, `Industry`, `# Employees`…) feed the contact's
company. Internally such a column's field is `company.<field>`.

Unknown columns are ignored and reported once per job, never per row; so is a later
column that names a field an earlier column already feeds (the first wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectra.ingest import normalize
from connectra.ingest.presets import Preset
from connectra.models.fields import WRITABLE_COLUMNS, Entity
from connectra.models.records import RECORD_MODELS

# A contact's company field, internally (not a field of ContactIn).
COMPANY_REF_PREFIX = "company."
COMPANY_TARGET_PREFIX = "company_"  # as requests and search name it

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_COMPANY = COMPANY_REF_PREFIX

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
    "mobile_phone_number": "mobile_phone",
    "phone_number": "mobile_phone",
    "linkedin": "linkedin_url",
    "linkedin_profile": "linkedin_url",
    "linkedin_url": "linkedin_url",
    "person_linkedin_url": "linkedin_url",
    "email_verification_status": "email_status",
    "company": _COMPANY + "name",
    "company_name": _COMPANY + "name",
    "organization": _COMPANY + "name",
    "account_name": _COMPANY + "name",
    "company_domain": _COMPANY + "normalized_domain",
    "domain": _COMPANY + "normalized_domain",
    "company_website": _COMPANY + "website",
    "company_url": _COMPANY + "website",
    "website": _COMPANY + "website",
    "website_url": _COMPANY + "website",
    "company_linkedin_url": _COMPANY + "linkedin_url",
    "company_linkedin": _COMPANY + "linkedin_url",
    "company_uuid": "company_id",
    "industry": _COMPANY + "industries",
    "industries": _COMPANY + "industries",
    "keywords": _COMPANY + "keywords",
    "technologies": _COMPANY + "technologies",
    "employees": _COMPANY + "employees_count",
    "employee_count": _COMPANY + "employees_count",
    "number_of_employees": _COMPANY + "employees_count",
    "annual_revenue": _COMPANY + "annual_revenue",
    "revenue": _COMPANY + "annual_revenue",
    "total_funding": _COMPANY + "total_funding",
    "company_phone": _COMPANY + "phone",
    "company_street_address": _COMPANY + "address",
}

COMPANY_ALIASES: dict[str, str] = {
    "company": "name",
    "company_name": "name",
    "organization": "name",
    "account_name": "name",
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

_COMPANY_FIELDS = frozenset(WRITABLE_COLUMNS[Entity.COMPANIES])


def normalize_header(name: str) -> str:
    """`\\ufeffFirst Name ` → `first_name`, `# Employees` → `employees`."""
    return _NOT_WORD.sub("_", name.lstrip("\ufeff").strip().lower()).strip("_")


def _contact_company_field(normalized: str) -> str | None:
    """`company_city` → `company.city`, `company_domain` → `company.normalized_domain`."""
    if not normalized.startswith(COMPANY_TARGET_PREFIX):
        return None
    rest = normalized[len(COMPANY_TARGET_PREFIX) :]
    field = rest if rest in _COMPANY_FIELDS else COMPANY_ALIASES.get(rest)
    return _COMPANY + field if field else None


def field_for(entity: Entity, name: str) -> str | None:
    """The model field (or `company.<field>`) a column feeds by its name, or None."""
    normalized = normalize_header(name)
    if normalized in RECORD_MODELS[entity].model_fields:
        return normalized
    alias = ALIASES[entity].get(normalized)
    if alias is not None or entity is Entity.COMPANIES:
        return alias
    return _contact_company_field(normalized)


def target_field(entity: Entity, target: str) -> str | None:
    """A mapping's target (`linkedin_url`, `company_employees_count`) as a field, or None
    when the entity has no such writable field."""
    if target == "uuid" or target in RECORD_MODELS[entity].model_fields:
        return target
    if entity is Entity.CONTACTS:
        return _contact_company_field(target)
    return None


def is_company_column(field: str | None) -> bool:
    return field is not None and field.startswith(COMPANY_REF_PREFIX)


def company_field(field: str) -> str:
    """`company.city` → `city`."""
    return field[len(COMPANY_REF_PREFIX) :]


Normalizer = Callable[[Any], Any]


def _normalizer(field: str, vendor: bool, scale: int) -> Normalizer | None:
    """How a column's values are normalized (ingest/normalize.py), None when kept as read."""
    name = company_field(field) if is_company_column(field) else field
    number = normalize.NUMBER_FIELDS.get(name)
    if number is not None:
        return normalize.scaled(scale) if scale != 1 else number
    return normalize.VOCABULARY_FIELDS.get(name) if vendor else None


def normalizer_for_key(key: str, field: str) -> Normalizer | None:
    """The normalizer of a column named `key` that feeds `field` (an NDJSON key, a
    batch-upsert row key): numbers always, vocabularies when `key` is a vendor name."""
    return _normalizer(field, field != normalize_header(key), 1)


@dataclass(frozen=True)
class ColumnMap:
    """How each column of a file's header feeds the record model."""

    entity: Entity
    header: tuple[str, ...]
    fields: tuple[str | None, ...]  # per column: the field it feeds, None when ignored
    ignored: tuple[str, ...]  # unknown or repeated columns, in header order
    # per column: how its values are normalized before validation (None: as read)
    normalizers: tuple[Normalizer | None, ...] = ()

    @classmethod
    def from_header(
        cls,
        entity: Entity,
        header: Sequence[str],
        mapping: Mapping[str, str | None] | None = None,
        preset: Preset | None = None,
    ) -> ColumnMap:
        explicit = dict(mapping or {})
        decided = [_decide(entity, name, explicit, preset) for name in header]
        fields: list[str | None] = [None] * len(header)
        normalizers: list[Normalizer | None] = [None] * len(header)
        taken: set[str] = set()
        # Mapping, then preset, then names and aliases; within each, the first column wins.
        for index in sorted(range(len(header)), key=lambda i: (decided[i].rank, i)):
            choice = decided[index]
            if choice.field is not None and choice.field not in taken:
                taken.add(choice.field)
                fields[index] = choice.field
                normalizers[index] = _normalizer(choice.field, choice.vendor, choice.scale)
        ignored = [
            name
            for name, field, choice in zip(header, fields, decided, strict=True)
            if field is None and not (choice.field is None and name in explicit)
        ]
        return cls(entity, tuple(header), tuple(fields), tuple(ignored), tuple(normalizers))

    @property
    def positions(self) -> tuple[tuple[int, str], ...]:
        return tuple((index, field) for index, field in enumerate(self.fields) if field)

    @property
    def has_company_columns(self) -> bool:
        return any(is_company_column(field) for field in self.fields)

    @property
    def normalized_fields(self) -> dict[str, Normalizer]:
        """Field → its column's normalizer, for the columns whose values are normalized."""
        return {
            field: normalizer
            for field, normalizer in zip(self.fields, self.normalizers, strict=False)
            if field and normalizer is not None
        }

    def column_of(self, field: str) -> str:
        """The header name a field came from (for row errors), else the field itself."""
        for name, mapped in zip(self.header, self.fields, strict=True):
            if mapped == field:
                return name
        return field

    def mapping_used(self) -> dict[str, str | None]:
        """Each column → the target it feeds, as requests name targets (dry run report)."""
        return {
            name: _as_target(field) if field else None
            for name, field in zip(self.header, self.fields, strict=True)
        }


def _as_target(field: str) -> str:
    if is_company_column(field):
        return COMPANY_TARGET_PREFIX + company_field(field)
    return field


@dataclass(frozen=True)
class _Choice:
    field: str | None
    vendor: bool  # recognized by mapping, preset or alias: its vocabularies are normalized
    scale: int = 1
    rank: int = 2  # 0 explicit mapping, 1 preset, 2 name or alias


def _decide(
    entity: Entity, name: str, mapping: dict[str, str | None], preset: Preset | None
) -> _Choice:
    """The field one column would feed, and how sure that is (its rank)."""
    if name in mapping:
        target = mapping[name]
        return _Choice(target_field(entity, target) if target else None, True, rank=0)
    if preset is not None and name in preset.columns:
        column = preset.columns[name]
        return _Choice(target_field(entity, column.target), True, column.scale, rank=1)
    field = field_for(entity, name)
    return _Choice(field, field is not None and field != normalize_header(name))
