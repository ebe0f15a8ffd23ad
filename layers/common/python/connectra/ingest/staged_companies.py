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
    LINKEDIN_OK,
    StagedConverter,
    list_ok,
    list_parts,
    list_value,
)
from connectra.models.fields import Entity
from connectra.models.records import CompanyIn

_LISTS = ("industries", "keywords", "technologies")
# Digits and commas: normalize.amount reads them as the digits (`1,200` → 1200). At most
# 18 digits fit a bigint; the model's bounds are far lower.
_AMOUNT = "^[0-9][0-9,]*$"
_MAX_DIGITS = 18


def _upper_bound(name: str) -> int:
    for constraint in CompanyIn.model_fields[name].metadata:
        bound = getattr(constraint, "le", None)
        if bound is not None:
            return int(bound)
    raise ValueError(f"{name} has no upper bound")


def _number_ok(name: str) -> str:
    """The cell is an amount SQL reads exactly and within the model's bounds (a CASE: the
    cast must not run on other cells)."""
    cell = f"v.{name}"
    digits = f"translate({cell}, ',', '')"
    return (
        f"(CASE WHEN {cell} IS NULL THEN true WHEN {cell} !~ '{_AMOUNT}' THEN false "
        f"WHEN octet_length({digits}) > {_MAX_DIGITS} THEN false "
        f"ELSE {digits}::bigint <= {_upper_bound(name)} END)"
    )


class CompanyConverter(StagedConverter):
    """Companies: domain and key normalization, list cells, amounts."""

    entity = Entity.COMPANIES

    def _laterals(self) -> str:
        source = "coalesce(v.normalized_domain, v.website)"
        return (
            f", LATERAL (SELECT lower({source}) AS url) AS s"
            f", LATERAL (SELECT {keys.domain('s.url')} AS domain) AS d"
        )

    def _derived(self) -> list[str]:
        return [
            "d.domain AS domain",
            f"{keys.domain_again('d.domain')} AS key_domain",
            *(list_parts(name) for name in _LISTS),
        ]

    def _checks(self) -> list[str]:
        return [
            *self._common_checks(),
            LINKEDIN_OK,
            *(list_ok(name) for name in _LISTS),
            *(f"(v.{name} IS NULL OR strpos(v.{name}, '|') = 0)" for name in _LISTS),
            *(_number_ok(name) for name in NUMBER_FIELDS),
            f"(s.url IS NULL OR s.url ~ '{keys.URL_CELL}')",
            # Without a domain, the key is the name (ASCII only) and LinkedIn URL.
            "(v.uuid IS NOT NULL OR d.domain IS NOT NULL OR ("
            "(v.name IS NOT NULL OR v.linkedin_url IS NOT NULL) "
            f"AND coalesce(v.name, '') ~ '{keys.PRINTABLE_ASCII}'))",
        ]

    def typed_values(self) -> str:
        company_name = keys.name("coalesce(v.name, '')")
        linkedin = f"coalesce({keys.linkedin('lower(v.linkedin_url)')}, '')"
        key = (
            "CASE WHEN v.key_domain IS NOT NULL THEN 'domain:' || v.key_domain "
            f"ELSE 'company:' || {company_name} || '|' || {linkedin} END"
        )
        typed = {name: f"v.{name}" for name in self.columns} | {
            "uuid": f"coalesce(v.uuid::uuid, {keys.uuid5('companies', key)})",
            "normalized_domain": "v.domain",
        }
        typed |= {name: list_value(name) for name in _LISTS}
        typed |= {name: f"translate(v.{name}, ',', '')::bigint" for name in NUMBER_FIELDS}
        return ", ".join(f"{typed[name]} AS {name}" for name in self.columns)
