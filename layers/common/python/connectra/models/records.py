"""Contact and company records as callers write them: validated, normalized, keyed."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from connectra.models.fields import Entity
from connectra.models.identity import (
    company_natural_key,
    company_uuid,
    contact_natural_key,
    contact_uuid,
    normalize_domain,
    normalize_email,
)

# Deliberately permissive (real CRM data), but rejects what is clearly not an address.
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_LINKEDIN = re.compile(r"^(https?://)?([a-z0-9-]+\.)*linkedin\.com(/.*)?$", re.IGNORECASE)

# PostgreSQL text cannot hold NUL: a value with one is the field's own error (D10), never
# the whole request's. Checked in pydantic's core (a pattern), not by a Python call.
NO_NUL = r"^[^\x00]*$"
# An array item is a tag (a department, an industry): short. Its GIN index entry must fit
# an index page (~2.7 kB, 4 bytes a character at worst): 200 characters (D3).
MAX_TAG_LENGTH = 200

ShortText = Field(default=None, max_length=500, pattern=NO_NUL)
LongText = Field(default=None, max_length=2000, pattern=NO_NUL)
Tag = Annotated[str, StringConstraints(max_length=MAX_TAG_LENGTH, pattern=NO_NUL)]


def _clean_tags(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        cleaned = value.strip()
        if cleaned and cleaned.lower() not in seen:
            seen[cleaned.lower()] = cleaned
    return list(seen.values())


class RecordIn(BaseModel, ABC):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uuid: UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        # One pass per record (a field validator on "*" costs a Python call per field).
        if not isinstance(data, dict):
            return data
        blank = [key for key, value in data.items() if isinstance(value, str) and not value.strip()]
        if not blank:
            return data
        fields = cls.model_fields
        return {key: value for key, value in data.items() if key not in blank or key not in fields}

    @abstractmethod
    def natural_uuid(self) -> UUID:
        """The deterministic id derived from the record's natural key."""

    def record_uuid(self) -> UUID:
        """The explicit uuid when given, else the deterministic id of the natural key."""
        return self.uuid or self.natural_uuid()

    def to_row(self) -> dict[str, Any]:
        row = self.model_dump(exclude={"uuid"})
        row["uuid"] = self.record_uuid()
        return row


class ContactIn(RecordIn):
    first_name: str | None = ShortText
    last_name: str | None = ShortText
    email: str | None = Field(default=None, max_length=320, pattern=NO_NUL)
    title: str | None = ShortText
    seniority: str | None = ShortText
    departments: list[Tag] = Field(default_factory=list, max_length=200)
    mobile_phone: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    email_status: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    linkedin_url: str | None = ShortText
    city: str | None = ShortText
    state: str | None = ShortText
    country: str | None = ShortText
    company_id: UUID | None = None

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _EMAIL.match(value):
            raise ValueError("not a valid email address")
        return normalize_email(value)

    @field_validator("linkedin_url")
    @classmethod
    def _valid_linkedin(cls, value: str | None) -> str | None:
        if value is not None and not _LINKEDIN.match(value):
            raise ValueError("not a LinkedIn URL")
        return value

    @field_validator("departments", mode="before")
    @classmethod
    def _split_departments(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("departments")
    @classmethod
    def _dedupe_departments(cls, value: list[str]) -> list[str]:
        return _clean_tags(value)

    @model_validator(mode="after")
    def _has_natural_key(self) -> Self:
        # The key only (no hashing): the uuid is derived once, by natural_uuid().
        if (
            self.uuid is None
            and contact_natural_key(self.email, self.first_name, self.last_name, self.linkedin_url)
            is None
        ):
            raise ValueError("a contact needs an email, or a name or LinkedIn URL, or a uuid")
        return self

    def natural_uuid(self) -> UUID:
        found = contact_uuid(self.email, self.first_name, self.last_name, self.linkedin_url)
        assert found is not None  # guaranteed by _has_natural_key unless uuid was given
        return found


class CompanyIn(RecordIn):
    name: str | None = ShortText
    normalized_domain: str | None = Field(default=None, max_length=253, pattern=NO_NUL)
    website: str | None = ShortText
    linkedin_url: str | None = ShortText
    industries: list[Tag] = Field(default_factory=list, max_length=200)
    keywords: list[Tag] = Field(default_factory=list, max_length=200)
    technologies: list[Tag] = Field(default_factory=list, max_length=200)
    employees_count: int | None = Field(default=None, ge=0, le=10**12)
    annual_revenue: int | None = Field(default=None, ge=0, le=10**15)
    total_funding: int | None = Field(default=None, ge=0, le=10**15)
    address: str | None = LongText
    city: str | None = ShortText
    state: str | None = ShortText
    country: str | None = ShortText
    phone: str | None = Field(default=None, max_length=64, pattern=NO_NUL)

    @field_validator("industries", "keywords", "technologies", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("industries", "keywords", "technologies")
    @classmethod
    def _dedupe_lists(cls, value: list[str]) -> list[str]:
        return _clean_tags(value)

    @field_validator("linkedin_url")
    @classmethod
    def _valid_linkedin(cls, value: str | None) -> str | None:
        if value is not None and not _LINKEDIN.match(value):
            raise ValueError("not a LinkedIn URL")
        return value

    @model_validator(mode="after")
    def _normalize_domain(self) -> Self:
        self.normalized_domain = normalize_domain(self.normalized_domain or self.website)
        if (
            self.uuid is None
            and company_natural_key(self.normalized_domain, self.name, self.linkedin_url) is None
        ):
            raise ValueError("a company needs a domain or website, or a name, or a uuid")
        return self

    def natural_uuid(self) -> UUID:
        found = company_uuid(self.normalized_domain, self.name, self.linkedin_url)
        assert found is not None
        return found


def _split_list(value: Any) -> Any:
    """CSV cells carry lists as `a; b` or `a, b`; JSON callers send real lists."""
    if value is None:
        return []
    if isinstance(value, str):
        separator = ";" if ";" in value else ","
        return [part for part in value.split(separator)]
    return value


RECORD_MODELS: dict[Entity, type[RecordIn]] = {
    Entity.CONTACTS: ContactIn,
    Entity.COMPANIES: CompanyIn,
}
