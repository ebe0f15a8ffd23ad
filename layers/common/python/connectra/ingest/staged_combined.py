"""Contacts files with company columns (combined rows, combined.py) on the SQL path.

Each record's company is validated, normalized and keyed in SQL as a companies record is
(staged_companies.CompanyCells over the `company.<field>` columns, cells `co_<field>`),
with combined.py's identity: the domain or website column, else the email's domain when
it is no free-mail one, else the name and LinkedIn URL. A typed row carries its company's
natural uuid and written values (JSON: the file's company columns and the domain, as
`combined.company_row` keeps them); staged_batches.py hands the batch's last row of each
company to the loader's short companies transaction (`BatchLoader.upsert_companies`) and
points each contact to its company as stored, before the contacts are loaded. The batch
cannot take the one-statement way (its companies must be committed first).

Left to Python besides what ContactConverter and CompanyCells leave to it: a company
list cell with no part but blanks and separators (a vendor column reads it as no value,
our own as an empty list), an email whose domain holds a bracket.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from connectra.ingest import staged_keys as keys
from connectra.ingest.columns import (
    COMPANY_REF_PREFIX,
    company_field,
    is_company_column,
)
from connectra.ingest.combined import FREE_MAIL_DOMAINS
from connectra.ingest.staged import TYPED_TABLE, ContactConverter, CsvCells, model_bound
from connectra.ingest.staged_companies import LISTS, CompanyCells
from connectra.models.fields import WRITABLE_COLUMNS, Entity
from connectra.models.records import CompanyIn

PREFIX = "co_"
_MAX_DOMAIN = model_bound(CompanyIn, "normalized_domain", "max_length")
_FREE_MAIL = ", ".join(f"'{domain}'" for domain in sorted(FREE_MAIL_DOMAINS))


class CombinedContactConverter(ContactConverter):
    """Contacts with their companies' columns: both converted, the company kept aside."""

    direct = False

    def __init__(self, conn: Connection[Any], source: CsvCells) -> None:
        super().__init__(conn, source)
        self.company_fields = tuple(
            company_field(name)
            for name in source.columns.fields
            if name is not None and is_company_column(name)
        )
        self.company = CompanyCells(PREFIX)
        self.typed_columns = (*self.columns, "company_uuid", "company_values")

    def create_tables(self) -> None:
        super().create_tables()
        self.conn.execute(
            f"ALTER TABLE {TYPED_TABLE} ADD COLUMN company_uuid uuid, "
            "ADD COLUMN company_values jsonb"
        )

    def _rows_of_companies(self) -> str:
        return (
            f"SELECT t.uuid FROM {TYPED_TABLE} AS t "
            "WHERE t.company_uuid = ANY(string_to_array(%(of_companies)s, ',')::uuid[])"
        )

    def _more_cells(self) -> list[str]:
        return [
            f"{self.source.cell(COMPANY_REF_PREFIX + name)} AS {PREFIX}{name}"
            for name in WRITABLE_COLUMNS[Entity.COMPANIES]
        ]

    def _laterals(self) -> str:
        # combined.with_identity: the columns' domain, else the email's (normalized once
        # there, once more by the model: the lateral's `domain` of a host is that).
        email_domain = keys.domain("lower(split_part(v.email, '@', 2))")
        url = (
            f"coalesce(v.{PREFIX}normalized_domain, v.{PREFIX}website, "
            f"CASE WHEN {PREFIX}e.domain NOT IN ({_FREE_MAIL}) THEN {PREFIX}e.domain END)"
        )
        return (
            f", LATERAL (SELECT {email_domain} AS domain) AS {PREFIX}e{self.company.laterals(url)}"
        )

    def _present(self) -> str:
        """Whether the record names a company (a company cell is not blank)."""
        cells = [self.company.cell(name) for name in self.company_fields]
        return f"({' OR '.join(f'{cell} IS NOT NULL' for cell in cells)})"

    def _derived(self) -> list[str]:
        return [
            *super()._derived(),
            *self.company.derived(),
            f"{self._present()} AS {PREFIX}present",
        ]

    def _checks(self) -> list[str]:
        company = [
            *self.company.lengths(),
            *self.company.checks(),
            self.company.has_key(),
            *(
                f"({self.company.cell(name)} IS NULL OR {self.company.cell(name)} ~ '[^ ;,|]')"
                for name in LISTS
            ),
            f"(v.email IS NULL OR v.email ~ '{keys.URL_CELL}')",
            # The email's domain stands for the domain column: the model bounds its length.
            f"(v.{PREFIX}normalized_domain IS NOT NULL OR v.{PREFIX}website IS NOT NULL "
            f"OR {PREFIX}e.domain IS NULL OR char_length({PREFIX}e.domain) <= {_MAX_DOMAIN})",
        ]
        return [*super()._checks(), f"(NOT {self._present()} OR ({' AND '.join(company)}))"]

    def _typed(self) -> dict[str, str]:
        present = f"v.{PREFIX}present"
        natural = self.company.natural_uuid()
        typed = self.company.typed()
        written = ", ".join(
            f"'{name}', {typed[name]}"
            for name in dict.fromkeys([*self.company_fields, "normalized_domain"])
        )
        return super()._typed() | {
            "company_id": f"CASE WHEN {present} THEN coalesce(v.company_id::uuid, {natural}) "
            "ELSE v.company_id::uuid END",
            "company_uuid": f"CASE WHEN {present} THEN {natural} END",
            "company_values": f"CASE WHEN {present} THEN jsonb_build_object({written}) END",
        }
