"""Rows → bytes: CSV (header = the requested columns) or NDJSON, one page at a time.

CSV cells are what a spreadsheet should see: lists joined with `; ` (what the importer
splits on), timestamps in ISO 8601, empty for NULL. A cell that a spreadsheet would run
as a formula (starting with = + - @ TAB or CR) gets a leading `'`, as OWASP recommends
against CSV injection. NDJSON keeps types (lists stay lists) and needs no escaping.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectra.export.request import ExportFormat
from connectra.models.fields import (
    COMPANY_PREFIX,
    CONTACT_OWN_FIELDS,
    FIELDS_BY_ENTITY,
    Entity,
    FieldKind,
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


def neutralize_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


Cell = Callable[[Any], str]


def _text_cell(formula_escape: bool) -> Cell:
    if not formula_escape:
        return lambda value: "" if value is None else str(value)
    return lambda value: "" if value is None else neutralize_formula(str(value))


def _list_cell(formula_escape: bool) -> Cell:
    text = _text_cell(formula_escape)

    def cell(value: Any) -> str:
        if not value:
            return ""
        return text(LIST_SEPARATOR.join(str(item) for item in value if item is not None))

    return cell


def _date_cell(value: Any) -> str:
    return "" if value is None else str(value.isoformat())


def _plain_cell(value: Any) -> str:
    """Numbers and uuids: nothing a spreadsheet could run."""
    return "" if value is None else str(value)


def csv_cell_for(entity: Entity, column: str, formula_escape: bool) -> Cell:
    """The CSV rendering of one column, chosen once from the field catalogue (a hot loop)."""
    field = FIELDS_BY_ENTITY[entity].get(column)
    kind = field.kind if field is not None else FieldKind.TEXT
    if kind is FieldKind.KEYWORD_ARRAY:
        return _list_cell(formula_escape)
    if kind is FieldKind.DATE:
        return _date_cell
    if kind in (FieldKind.NUMBER, FieldKind.UUID):
        return _plain_cell
    return _text_cell(formula_escape)


def value_getter(column: str) -> Callable[[dict[str, Any]], Any]:
    """Reads a column from a row; `company_x` reads the attached company's `x` (a contact's
    own `company_id` is a column of the row, not of the company)."""
    if column.startswith(COMPANY_PREFIX) and column not in CONTACT_OWN_FIELDS:
        name = column[len(COMPANY_PREFIX) :]

        def company_value(row: dict[str, Any]) -> Any:
            company = row.get("company")
            return company.get(name) if company else None

        return company_value
    return lambda row: row.get(column)


class RowEncoder:
    def __init__(
        self,
        entity: Entity,
        file_format: ExportFormat,
        header: Sequence[str],
        formula_escape: bool,
    ) -> None:
        self.format = file_format
        self.header = tuple(header)
        self.getters = [value_getter(column) for column in self.header]
        self.cells = [csv_cell_for(entity, column, formula_escape) for column in self.header]

    def header_bytes(self) -> bytes:
        if self.format is not ExportFormat.CSV:
            return b""
        return self._csv([list(self.header)])

    def encode(self, rows: Sequence[dict[str, Any]]) -> bytes:
        if self.format is ExportFormat.NDJSON:
            lines = (
                json.dumps(
                    {
                        column: json_value(get(row))
                        for column, get in zip(self.header, self.getters, strict=True)
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                for row in rows
            )
            return "".join(line + "\n" for line in lines).encode()
        pairs = list(zip(self.getters, self.cells, strict=True))
        return self._csv([[cell(get(row)) for get, cell in pairs] for row in rows])

    @staticmethod
    def _csv(records: list[list[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(records)
        return buffer.getvalue().encode()
