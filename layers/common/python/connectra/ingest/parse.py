"""Records → validated rows (models/records.py) or row errors `{line, column, message}`.

CSV and NDJSON go through the same pipeline; only the record → dict step differs. A bad
record never raises: undecodable UTF-8, malformed quoting, a wrong number of fields, a
line that is not a JSON object and every model error become row errors naming the
file's own column and the physical line the record starts on.

Spreadsheet formula escaping: our CSV export (export/encode.py), like OWASP recommends,
prefixes a cell that starts with `=`, `+`, `-`, `@`, TAB or CR with a `'`. The CSV importer
undoes exactly that: ONE leading `'` is removed when the next character is one of those
six, so a default export re-imports to the same values. Any other `'` is kept (`'quoted'`,
`'` alone, `''=x`). The one value this cannot keep is one that itself starts with `'` and
then a formula character (`'=x` imports as `=x`): the exporter writes it unchanged, so it
is indistinguishable from an escaped `=x`.

Field length: Python's csv module refuses fields over 128 KiB by default, which would
turn a long but well-formed quoted field into a quoting error; the limit is raised to the
maximum record size (a field is never longer than its record, and longer records never
reach the csv module: the splitter reports them), so the per-field length rules of the
record models report such a field against its column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from connectra.ingest import combined
from connectra.ingest.columns import (
    COMPANY_REF_PREFIX,
    ColumnMap,
    Normalizer,
    company_field,
    field_for,
    normalizer_for_key,
)
from connectra.ingest.splitter import Record
from connectra.models.fields import Entity
from connectra.models.records import RECORD_MODELS
from connectra.settings import get_settings

RAW_MAX_CHARS = 1000  # how much of a bad record the error report keeps
FORMULA_ESCAPE = "'"
FORMULA_STARTS = frozenset("=+-@\t\r")  # what the exporter escapes (export/encode.py)


def allow_fields_up_to(max_chars: int) -> None:
    """Raise the csv module's (process-wide) field size limit to at least `max_chars`."""
    if csv.field_size_limit() < max_chars:
        csv.field_size_limit(max_chars)


allow_fields_up_to(get_settings().ingest_max_record_bytes)


def unescape_formula(value: str) -> str:
    """`'=SUM(A1)` → `=SUM(A1)`: undo the exporter's formula escaping, nothing else."""
    if value[:1] == FORMULA_ESCAPE and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value


class FileFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


def detect_format(key: str, first_bytes: bytes) -> FileFormat:
    """By extension (`.ndjson`, `.jsonl`), else by content (a first `{`)."""
    lowered = key.lower()
    if lowered.endswith((".ndjson", ".jsonl")):
        return FileFormat.NDJSON
    if lowered.endswith((".csv", ".txt")):
        return FileFormat.CSV
    sniffed = first_bytes.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return FileFormat.NDJSON if sniffed == b"{" else FileFormat.CSV


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    message: str
    raw: str | None = None


@dataclass(slots=True)
class ParsedRow:
    """A valid record: its table row (`to_row()`), where it came from, its company if any."""

    line: int
    offset: int
    row: dict[str, Any]
    company: combined.CompanyRow | None = None  # the row's company (combined rows)


class RecordError(Exception):
    """A record that cannot become a dict of fields (decoding, quoting, shape)."""


def parse_csv_fields(text: str) -> list[str]:
    """One record's fields; the record may hold quoted newlines."""
    if '"' not in text and "\r" not in text:
        return text.split(",")  # what the csv module returns for such a record, faster
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise RecordError(f"malformed CSV quoting: {exc}") from exc
    if len(rows) != 1:
        raise RecordError("malformed CSV quoting: a quote is not closed where the record ends")
    return rows[0]


def parse_csv_header(record: Record) -> list[str]:
    try:
        return parse_csv_fields(record.data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordError(f"the header row is not valid UTF-8: {exc.reason}") from exc


def _merged(errors: list[RowError]) -> list[RowError]:
    """One error per (line, column): the report's key; messages joined."""
    by_column: dict[str, RowError] = {}
    for error in errors:
        seen = by_column.get(error.column)
        by_column[error.column] = (
            error
            if seen is None
            else RowError(error.line, error.column, f"{seen.message}; {error.message}", error.raw)
        )
    return list(by_column.values())


def _message(error: Any) -> str:
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def _storable_key(key: str) -> bool:
    """PostgreSQL text (the file's notices, the error report) holds neither NUL nor a lone
    surrogate, which JSON can escape (`"\\u0000"`, `"\\ud800"`)."""
    if "\x00" in key:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class RecordParser:
    """Turns the records of one file into `ParsedRow`s and `RowError`s."""

    entity: Entity
    file_format: FileFormat
    columns: ColumnMap | None = None  # the CSV header's mapping; None for NDJSON
    unknown_columns: set[str] = field(default_factory=set)  # NDJSON keys seen but unknown
    _key_fields: dict[str, str | None] = field(default_factory=dict)
    _key_normalizers: dict[str, Normalizer | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._model = RECORD_MODELS[self.entity]
        if self.file_format is FileFormat.CSV and self.columns is None:
            raise ValueError("a CSV file needs its header's column map")
        self._width = len(self.columns.header) if self.columns else 0
        self._positions = self.columns.positions if self.columns else ()
        # A CSV header names its company-reference columns once; NDJSON keys vary per line.
        self._company_refs: tuple[str, ...] | None = (
            tuple(name for _, name in self._positions if name.startswith(COMPANY_REF_PREFIX))
            if self.columns
            else None
        )
        self._normalizers = self.columns.normalized_fields if self.columns else {}
        allow_fields_up_to(get_settings().ingest_max_record_bytes)

    @property
    def key_fields(self) -> Mapping[str, str | None]:
        """The NDJSON keys met so far, in the order first met, each with the field it feeds
        (None: an unknown key, reported in `unknown_columns`)."""
        return MappingProxyType(self._key_fields)

    def key_normalizer(self, field_name: str) -> Normalizer | None:
        """What an NDJSON value of `field_name` goes through now: the normalizer of the
        last key first met that feeds it (None: taken as read)."""
        return self._key_normalizers.get(field_name)

    def parse(self, record: Record) -> ParsedRow | list[RowError]:
        if record.error is not None:  # too long to read (splitter.py): `data` is an excerpt
            return [self._error(record, "", record.error, record.data.decode("utf-8", "replace"))]
        try:
            text = record.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = record.data[exc.start : exc.start + 1].hex()
            message = f"not valid UTF-8 (byte 0x{bad} at position {exc.start} of the record)"
            return [self._error(record, "", message, record.data.decode("utf-8", "replace"))]
        if "\x00" in text:
            return [self._error(record, "", "contains a NUL character", text.replace("\x00", ""))]
        try:
            values = self._csv_values(text) if self.columns else self._json_values(text)
        except RecordError as exc:
            return [self._error(record, "", str(exc), text)]
        return self._validate(record, values, text)

    def parse_object(self, position: int, document: dict[str, Any]) -> ParsedRow | list[RowError]:
        """An object keyed by column names (`POST /common/batch-upsert` rows) as an NDJSON
        line would be parsed; `position` stands for both its line and its offset."""
        record = Record(position, position, b"")
        try:
            values = self._mapped(document)
        except RecordError as exc:
            return [self._error(record, "", str(exc), "")]
        return self._validate(record, values, "")

    def _csv_values(self, text: str) -> dict[str, Any]:
        fields = parse_csv_fields(text)
        if len(fields) < self._width or any(fields[self._width :]):
            raise RecordError(f"has {len(fields)} fields, the header has {self._width}")
        # Blank cells are missing values: leaving them out is what the model does anyway.
        values = {name: fields[index] for index, name in self._positions if fields[index]}
        if FORMULA_ESCAPE in text:
            for name, value in values.items():
                values[name] = unescape_formula(value)
        return values

    def _json_values(self, text: str) -> dict[str, Any]:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
        except ValueError as exc:  # an integer over sys.get_int_max_str_digits() digits
            raise RecordError("not valid JSON: a number has too many digits") from exc
        except RecursionError as exc:
            raise RecordError("not valid JSON: nested too deeply") from exc
        if not isinstance(document, dict):
            raise RecordError("a line must be a JSON object")
        return self._mapped(document)

    def _mapped(self, document: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in document.items():
            if not _storable_key(key):  # an escaped NUL or lone surrogate (issue 11 D4)
                raise RecordError("a key holds a NUL character or a lone UTF-16 surrogate")
            if key not in self._key_fields:
                self._key_fields[key] = mapped = field_for(self.entity, key)
                if mapped is not None:
                    self._key_normalizers[mapped] = normalizer_for_key(key, mapped)
            mapped = self._key_fields[key]
            if mapped is None:
                self.unknown_columns.add(key)
            elif value is not None and value != "":
                values.setdefault(mapped, value)
        return values

    def _validate(
        self, record: Record, values: dict[str, Any], text: str
    ) -> ParsedRow | list[RowError]:
        errors = self._normalize(record, values, text)
        refs = self._company_refs
        if refs is None:
            refs = tuple(name for name in values if name.startswith(COMPANY_REF_PREFIX))
        reference = {company_field(name): values.pop(name, None) for name in refs}
        company: combined.CompanyRow | None = None
        if any(value not in (None, "", []) for value in reference.values()):
            company, company_errors = self._company_of(record, reference, values, text)
            errors.extend(company_errors)
        try:
            model = self._model.model_validate(values)
        except ValidationError as exc:
            errors.extend(self._model_errors(record, exc, text))
        if errors:
            return _merged(errors)
        # `to_row()` without its model_dump: these fields are plain values (no serializers),
        # so the validated attributes are the row (the model is dropped right after).
        row = dict(model.__dict__)
        row["uuid"] = model.record_uuid()
        if company is not None and row.get("company_id") is None:
            row["company_id"] = company.uuid
        return ParsedRow(record.line, record.offset, row, company)

    def _normalize(self, record: Record, values: dict[str, Any], text: str) -> list[RowError]:
        """Vendor values onto ours, in place (ingest/normalize.py); the values refused."""
        normalizers = self._normalizers if self.columns else self._key_normalizers
        errors: list[RowError] = []
        for name, normalizer in normalizers.items():
            if normalizer is None or name not in values:
                continue
            try:
                values[name] = normalizer(values[name])
            except ValueError as exc:
                del values[name]
                errors.append(self._error(record, self._column(name), str(exc), text))
        return errors

    def _company_of(
        self, record: Record, reference: dict[str, Any], values: dict[str, Any], text: str
    ) -> tuple[combined.CompanyRow | None, list[RowError]]:
        """The row's company (combined.py: identity, the columns written), or its errors."""
        try:
            return combined.company_row(reference, values.get("email"), record.offset), []
        except ValidationError as exc:
            return None, [
                self._error(
                    record,
                    self._column(COMPANY_REF_PREFIX + str(loc[0]))
                    if (loc := error.get("loc"))
                    else self._column(COMPANY_REF_PREFIX + "name"),
                    _message(error),
                    text,
                )
                for error in exc.errors()
            ]

    def _model_errors(self, record: Record, exc: ValidationError, text: str) -> list[RowError]:
        return [
            self._error(
                record,
                self._column(str(loc[0])) if (loc := error.get("loc")) else "",
                _message(error),
                text,
            )
            for error in exc.errors()
        ]

    def _column(self, field_name: str) -> str:
        if self.columns is not None:
            return self.columns.column_of(field_name)
        for key, mapped in self._key_fields.items():
            if mapped == field_name:
                return key
        return field_name

    @staticmethod
    def _error(record: Record, column: str, message: str, raw: str) -> RowError:
        return RowError(record.line, column, message, raw[:RAW_MAX_CHARS])
