"""Dry run: parse a file as its import would (mapping, normalization, validation) and
report what the import would produce, writing nothing.

Used by `connectra import FILE --dry-run` (on the local file) and by
`POST /common/imports/dry-run` (on an uploaded object). The records are split, mapped,
normalized and validated by the same code as a chunk worker's (splitter.py, columns.py,
parse.py); nothing is written. The counts are those the file decides on its own:
rows, valid and failed rows, distinct contacts (or companies) and the rows that repeat
one, and the distinct companies combined rows name. How many of those an import would
insert or update depends on what is stored: `count_existing` looks the records' keys up
in a READ ONLY transaction (ingest/existing.py) when the caller has a database; without
one those counts stay None ("could not tell").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from psycopg import Connection

from connectra.ingest.columns import ColumnMap
from connectra.ingest.existing import NaturalKeys, read_only, split_existing
from connectra.ingest.mapping import HeaderRefused, check_header
from connectra.ingest.parse import (
    FileFormat,
    ParsedRow,
    RecordParser,
    RowError,
)
from connectra.ingest.splitter import split_range
from connectra.models.fields import Entity
from connectra.settings import get_settings

SAMPLE_ROWS = 5
MAX_REPORTED_ERRORS = 100


@dataclass
class DryRunCounts:
    rows: int = 0
    valid: int = 0
    failed: int = 0
    records: int = 0  # distinct contacts (or companies) the valid rows are
    duplicates: int = 0  # valid rows repeating a record of an earlier row (the last wins)
    companies: int = 0  # distinct companies named by combined rows (contacts files)
    # Of `records` / `companies`: new ones and stored ones (None: not looked up).
    inserted: int | None = None
    updated: int | None = None
    companies_inserted: int | None = None
    companies_updated: int | None = None


@dataclass
class DryRunReport:
    entity: Entity
    file_format: FileFormat
    mapping: dict[str, str | None]  # each column → the field it feeds (None: ignored)
    notices: dict[str, str]  # columns ignored, and why
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first ones, by line
    counts: DryRunCounts = field(default_factory=DryRunCounts)
    truncated: bool = False  # stopped after max_rows: the rest of the file was not read
    existing_checked: bool = False  # inserted / updated looked up in the database
    # The distinct records' and companies' keys (for `count_existing`; not reported).
    record_keys: NaturalKeys = field(init=False)
    company_keys: NaturalKeys = field(init=False)

    def __post_init__(self) -> None:
        self.record_keys = NaturalKeys(self.entity)
        self.company_keys = NaturalKeys(Entity.COMPANIES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value,
            "file_format": self.file_format.value,
            "mapping": self.mapping,
            "notices": self.notices,
            "samples": self.samples,
            "errors": self.errors,
            "counts": vars(self.counts),
            "truncated": self.truncated,
            "existing_checked": self.existing_checked,
        }


class DryRunRefused(ValueError):
    """The file cannot be imported at all (no header, no known column)."""


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _sample(parsed: ParsedRow) -> dict[str, Any]:
    sample = {key: _plain(value) for key, value in parsed.row.items() if value not in (None, [])}
    sample["line"] = parsed.line
    if parsed.company is not None:
        sample["company"] = {
            "uuid": str(parsed.company.uuid),
            **{k: _plain(v) for k, v in parsed.company.values.items() if v not in (None, [])},
        }
    return sample


def dry_run(
    entity: Entity,
    pieces: Iterable[bytes],
    size: int,
    file_format: FileFormat,
    job_data: Mapping[str, Any],
    max_rows: int | None = None,
) -> DryRunReport:
    """Parse the file's bytes (`pieces`, `size` bytes in all) under the job data's mapping
    and preset, up to `max_rows` data rows."""
    settings = get_settings()
    records = iter(
        split_range(
            iter(pieces),
            0,
            max(size, 1),
            quote_aware=file_format is FileFormat.CSV,
            max_record_bytes=settings.ingest_max_record_bytes,
        )
    )
    columns: ColumnMap | None = None
    notices: dict[str, str] = {}
    if file_format is FileFormat.CSV:
        columns, notices = _header(entity, next(records, None), job_data)
    parser = RecordParser(entity, file_format, columns)
    report = DryRunReport(entity, file_format, columns.mapping_used() if columns else {}, notices)
    _read(report, parser, records, max_rows)
    for key in sorted(parser.unknown_columns):
        report.notices[key] = "unknown field, ignored"
    return report


def _header(
    entity: Entity, header: Any, job_data: Mapping[str, Any]
) -> tuple[ColumnMap, dict[str, str]]:
    try:
        checked = check_header(entity, header, job_data)
    except HeaderRefused as exc:
        raise DryRunRefused(str(exc)) from exc
    return checked.columns, checked.notices


def _read(
    report: DryRunReport, parser: RecordParser, records: Iterable[Any], max_rows: int | None
) -> None:
    distinct, companies = report.record_keys, report.company_keys
    natural = "email" if report.entity is Entity.CONTACTS else "normalized_domain"
    counts = report.counts
    for record in records:
        if max_rows is not None and counts.rows >= max_rows:
            report.truncated = True
            return
        counts.rows += 1
        parsed = parser.parse(record)
        if not isinstance(parsed, ParsedRow):
            counts.failed += 1
            _report_errors(report, parsed)
            continue
        counts.valid += 1
        if parsed.row["uuid"].int in distinct.keys:
            counts.duplicates += 1
        distinct.add(parsed.row["uuid"], parsed.row.get(natural))
        if parsed.company is not None:
            companies.add(parsed.company.uuid, parsed.company.values.get("normalized_domain"))
        if len(report.samples) < SAMPLE_ROWS:
            report.samples.append(_sample(parsed))
        counts.records, counts.companies = len(distinct.keys), len(companies.keys)


def _report_errors(report: DryRunReport, errors: list[RowError]) -> None:
    room = MAX_REPORTED_ERRORS - len(report.errors)
    report.errors.extend(
        {"line": error.line, "column": error.column, "message": error.message}
        for error in errors[: max(room, 0)]
    )


def count_existing(conn: Connection[Any], report: DryRunReport) -> None:
    """Fill the report's inserted / updated counts from what the database holds (a READ
    ONLY transaction on `conn`: the dry run still writes nothing)."""
    with read_only(conn):
        split = split_existing(conn, report.record_keys)
        report.counts.inserted, report.counts.updated = split.inserted, split.updated
        if report.entity is Entity.CONTACTS:
            split = split_existing(conn, report.company_keys)
            report.counts.companies_inserted = split.inserted
            report.counts.companies_updated = split.updated
    report.existing_checked = True
