"""Where each catalogue field lives in a search document: the paths the DSL compiler
queries and the OpenSearch mappings define (`connectra.search.index_model`), and the exact
epoch-microsecond form of dates. Engine-neutral names only: no I/O, no client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectra.models.fields import Field, FieldKind

NGRAM_MIN = 3
NGRAM_MAX = 10
TEXT_SUFFIX = "__text"
STARTS_SUFFIX = "__starts"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def keyword_path(field: Field) -> str:
    """The field keyword_match compares with (lower-cased values, uuids as they are)."""
    if field.kind in (FieldKind.UUID, FieldKind.KEYWORD_ARRAY):
        return field.name
    return f"{field.name}.lower"


def sort_path(field: Field) -> str:
    return field.name


def range_path(field: Field) -> str:
    return field.name


def words_path(field: Field) -> str:
    return field.name + TEXT_SUFFIX


def ngram_path(field: Field) -> str:
    return f"{field.name}{TEXT_SUFFIX}.ngram"


def folded_path(field: Field) -> str:
    return f"{field.name}{TEXT_SUFFIX}.folded"


def starts_path(field: Field) -> str:
    return field.name + STARTS_SUFFIX


def to_micros(moment: datetime) -> int:
    """Exact epoch microseconds of an aware datetime (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)
