"""The column mapping an import request carries: checked when the request arrives, kept
in the job's data, and turned into each chunk's ColumnMap.

A request may name a preset (presets.py) and/or give an explicit mapping
`{"Person Linkedin Url": "linkedin_url", "Lead Score": null}`. What cannot be right is
refused with a 400 naming it, before any file is read: a preset we do not have, a target
that is no writable field of the entity, two columns on one field, a column named twice.
Whether the mapped columns exist is known only once the header is read: a mapped column
the header lacks is reported as a file notice, like an unknown column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectra.errors import ValidationFailed
from connectra.ingest.columns import ColumnMap, normalize_header, target_field
from connectra.ingest.parse import RecordError, parse_csv_header
from connectra.ingest.presets import PRESETS, Preset
from connectra.models.fields import Entity

MAX_MAPPED_COLUMNS = 1_500
MAX_COLUMN_NAME = 500

ColumnMapping = dict[str, str | None]


def _problem(path: str, message: str, kind: str) -> dict[str, str]:
    return {"path": path, "message": message, "type": kind}


def _mapping_problems(entity: Entity, mapping: Mapping[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if len(mapping) > MAX_MAPPED_COLUMNS:
        return [_problem("mapping", f"at most {MAX_MAPPED_COLUMNS} columns", "too_long")]
    by_target: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for column, target in mapping.items():
        path = f"mapping.{column[:100]}"
        if not column.strip() or len(column) > MAX_COLUMN_NAME or "\x00" in column:
            problems.append(_problem(path, "a column name of 1 to 500 characters", "value_error"))
            continue
        twin = by_name.setdefault(normalize_header(column) or column, column)
        if twin != column:
            problems.append(_problem(path, f"names the same column as {twin!r}", "value_error"))
        if target is None:
            continue
        if not isinstance(target, str) or target_field(entity, target) is None:
            problems.append(
                _problem(path, f"{target!r} is not a writable {entity.value} field", "value_error")
            )
            continue
        field = target_field(entity, target) or target
        first = by_target.setdefault(field, column)
        if first != column:
            problems.append(
                _problem(path, f"{target!r} is already fed by the column {first!r}", "value_error")
            )
    return problems


def preset_named(entity: Entity, name: str | None) -> Preset | None:
    """The preset `name` for `entity`; a 400 naming `preset` when there is none."""
    if name is None:
        return None
    preset = PRESETS.get(name)
    if preset is None or preset.entity is not entity:
        known = sorted(key for key, item in PRESETS.items() if item.entity is entity)
        raise ValidationFailed(
            f"preset: no preset {name!r} for {entity.value} (known: {', '.join(known) or 'none'})",
            [_problem("preset", f"one of {known}", "enum")],
        )
    return preset


def check_mapping(
    entity: Entity, mapping: Mapping[str, Any] | None, preset: str | None
) -> dict[str, Any]:
    """The job data keys for a request's mapping and preset; a 400 naming what is wrong."""
    preset_named(entity, preset)
    data: dict[str, Any] = {}
    if preset:
        data["preset"] = preset
    if mapping:
        problems = _mapping_problems(entity, mapping)
        if problems:
            raise ValidationFailed(f"{problems[0]['path']}: {problems[0]['message']}", problems)
        data["mapping"] = dict(mapping)
    return data


def column_map(entity: Entity, header: Sequence[str], job_data: Mapping[str, Any]) -> ColumnMap:
    """A CSV header's ColumnMap under the job's mapping and preset (as checked at request)."""
    preset = PRESETS.get(str(job_data["preset"])) if job_data.get("preset") else None
    mapping: ColumnMapping | None = job_data.get("mapping")
    return ColumnMap.from_header(entity, header, mapping, preset)


def missing_mapped_columns(header: Sequence[str], job_data: Mapping[str, Any]) -> list[str]:
    """The explicitly mapped columns the header does not have (reported as notices)."""
    names = set(header)
    return [column for column in job_data.get("mapping") or {} if column not in names]


class HeaderRefused(ValueError):
    """The header row makes the whole file unimportable (the message names the line)."""


@dataclass(frozen=True)
class CheckedHeader:
    names: list[str]
    columns: ColumnMap
    notices: dict[str, str]


def check_header(entity: Entity, header: Any, job_data: Mapping[str, Any]) -> CheckedHeader:
    """The CSV header record (splitter.Record or None) read through the job's mapping, as
    the import's plan and the dry run both read it."""
    if header is None:
        raise HeaderRefused("the file is empty: a CSV file needs a header row")
    if header.error:
        raise HeaderRefused(f"line {header.line}: the header row: {header.error}")
    try:
        names = parse_csv_header(header)
    except RecordError as exc:
        raise HeaderRefused(f"line {header.line}: {exc}") from exc
    columns = column_map(entity, names, job_data)
    if not columns.positions:
        raise HeaderRefused(
            f"no column of the header maps to a {entity.value[:-1]} field: {names[:20]}"
        )
    notices = {name: "unknown or repeated column, ignored" for name in columns.ignored}
    for name in missing_mapped_columns(names, job_data):
        notices[name] = "mapped column not in the header, ignored"
    return CheckedHeader(names, columns, notices)
