"""Companies on the SQL import path: models/records.py `CompanyIn` in SQL (staged.py).

What a companies record needs beyond the common checks (plain cells, lengths, uuid):

* the domain: `normalize_domain` of the domain cell, else of the website cell
  (staged_keys.py), for cells of printable ASCII without brackets;
* the key: `company_natural_key` (the stored domain normalized once more, else the name
  and the normalized LinkedIn URL, ASCII names only);
* the list cells (industries, keywords, technologies) as for contacts' departments; a
  cell with `|` goes to Python (a vendor column splits on it: normalize.split_list);
* the numbers (normalize.amount, then the model's bounds) for digits with optional
  thousands commas; every other spelling (`$5M`, `2.5k`, `51-200`, `1e3`) goes to Python.

Anything else (an invalid LinkedIn URL, a missing key, a number out of bounds, …) is
flagged: Python parses the record and reports the row errors.
"""

from __future__ import annotations

from connectra.ingest import staged_keys as keys
from connectra.ingest.normalize import NUMBER_FIELDS
from connectra.ingest.staged import (
    StagedConverter,
    length_checks,
    linkedin_ok,
    list_ok,
    list_parts,
    list_value,
    model_bound,
)
from connectra.models.fields import WRITABLE_COLUMNS, Entity
from connectra.models.records import CompanyIn

LISTS = ("industries", "keywords", "technologies")
# Digits and commas: normalize.amount reads them as the digits (`1,200` → 1200). At most
# 18 digits fit a bigint; the model's bounds are far lower.
_AMOUNT = "^[0-9][0-9,]*$"
_MAX_DIGITS = 18


def _number_ok(cell: str, name: str) -> str:
    """The cell is an amount SQL reads exactly and within the model's bounds (a CASE: the
    cast must not run on other cells)."""
    digits = f"translate({cell}, ',', '')"
    return (
        f"(CASE WHEN {cell} IS NULL THEN true WHEN {cell} !~ '{_AMOUNT}' THEN false "
        f"WHEN octet_length({digits}) > {_MAX_DIGITS} THEN false "
        f"ELSE {digits}::bigint <= {model_bound(CompanyIn, name, 'le')} END)"
    )


class CompanyCells:
    """A company's cells in a `checked` row: `v.<prefix><field>` for every writable field
    (a companies file's own cells, or a contacts file's company columns), its domain URL
    `<prefix>url` and domain `<prefix>domain` (laterals `<prefix>s`, `<prefix>d`)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def cell(self, name: str) -> str:
        return f"v.{self.prefix}{name}"

    def laterals(self, url: str) -> str:
        """The laterals computing the domain of the URL `url` (lower-cased there)."""
        p = self.prefix
        return (
            f", LATERAL (SELECT lower({url}) AS url) AS {p}s"
            f", LATERAL (SELECT {keys.domain(f'{p}s.url')} AS domain) AS {p}d"
        )

    def derived(self) -> list[str]:
        p = self.prefix
        return [
            f"{p}d.domain AS {p}domain",
            f"{keys.domain_again(f'{p}d.domain')} AS {p}key_domain",
            *(list_parts(p + name) for name in LISTS),
        ]

    def lengths(self) -> list[str]:
        return length_checks(
            CompanyIn, {field: self.cell(field) for field in CompanyIn.model_fields}
        )

    def checks(self) -> list[str]:
        """LinkedIn URL, lists, amounts, a domain SQL normalizes (not the lengths, not the
        key: see `lengths` and `has_key`)."""
        p, cell = self.prefix, self.cell
        return [
            linkedin_ok(cell("linkedin_url")),
            *(list_ok(p + field) for field in LISTS),
            *(f"({cell(field)} IS NULL OR strpos({cell(field)}, '|') = 0)" for field in LISTS),
            *(_number_ok(cell(field), field) for field in NUMBER_FIELDS),
            f"({p}s.url IS NULL OR {p}s.url ~ '{keys.URL_CELL}')",
        ]

    def has_key(self) -> str:
        """A natural key SQL computes: the domain, else the name (ASCII only) and LinkedIn URL."""
        name, linkedin = self.cell("name"), self.cell("linkedin_url")
        return (
            f"({self.prefix}d.domain IS NOT NULL OR (({name} IS NOT NULL OR {linkedin} "
            f"IS NOT NULL) AND coalesce({name}, '') ~ '{keys.PRINTABLE_ASCII}'))"
        )

    def natural_uuid(self) -> str:
        """`company_uuid` of a checked row (the key `company_natural_key` gives)."""
        p = self.prefix
        company_name = keys.name(f"coalesce({self.cell('name')}, '')")
        url = f"lower({self.cell('linkedin_url')})"
        linkedin = f"coalesce({keys.linkedin(url)}, '')"
        key = (
            f"CASE WHEN v.{p}key_domain IS NOT NULL THEN 'domain:' || v.{p}key_domain "
            f"ELSE 'company:' || {company_name} || '|' || {linkedin} END"
        )
        return keys.uuid5("companies", key)

    def typed(self) -> dict[str, str]:
        """Each company field's typed value (by field name)."""
        return (
            {field: self.cell(field) for field in WRITABLE_COLUMNS[Entity.COMPANIES]}
            | {"normalized_domain": f"v.{self.prefix}domain"}
            | {field: list_value(self.prefix + field) for field in LISTS}
            | {field: f"translate({self.cell(field)}, ',', '')::bigint" for field in NUMBER_FIELDS}
        )


class CompanyConverter(StagedConverter):
    """Companies: domain and key normalization, list cells, amounts."""

    entity = Entity.COMPANIES
    company = CompanyCells("")

    def _laterals(self) -> str:
        return self.company.laterals("coalesce(v.normalized_domain, v.website)")

    def _derived(self) -> list[str]:
        return self.company.derived()

    def _checks(self) -> list[str]:
        return [
            *self._common_checks(),
            *self.company.checks(),
            f"(v.uuid IS NOT NULL OR {self.company.has_key()})",
        ]

    def _typed(self) -> dict[str, str]:
        return self.company.typed() | {
            "uuid": f"coalesce(v.uuid::uuid, {self.company.natural_uuid()})"
        }
