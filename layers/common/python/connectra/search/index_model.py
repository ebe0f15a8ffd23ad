"""The OpenSearch indices: settings, mappings, field paths and documents, per entity.

One document per live record, `_id` = its uuid. Contacts carry their live company's fields
flat under the `company_` prefix (a soft-deleted or missing company: no such fields).

Fields of a document, by the catalogue kind of `connectra.models.fields`:

* uuid: `keyword`; keyword_match and the sort tie-break read it as is (canonical uuids).
* keyword and text: `keyword` with the raw value (sorts by code point, as PostgreSQL's
  `COLLATE "C"`: UTF-8 byte order is code-point order) and a `.lower` sub-field with the
  lowercase normalizer (keyword_match: case-insensitive, accents significant; Lucene
  lower-cases one code point at a time, as `connectra.vql.text.lower` does the values).
* keyword array: `keyword` with the lowercase normalizer, one value per element.
* number: `long`. date: `long` epoch MICROseconds. PostgreSQL keeps microseconds; `date`
  keeps milliseconds (ties and ranges would differ) and `date_nanos` has had
  missing-value bugs in sorts (elastic/elasticsearch#73763). Range bounds and
  search_after values are converted exactly (`to_micros`).
* text fields additionally:
  - `<f>__text`: `text` holding the FOLDED value (`connectra.vql.text.fold`, computed here
    in Python so the index folds exactly as the query side and the reference evaluator).
    Analyzer `connectra_words`: a `pattern` tokenizer emitting every match (`group: 0`)
    of `connectra.vql.text.WORD_PATTERN` written in Java's syntax (the same code point
    ranges, frozen in `connectra.models.unicode_classes`, so the JVM's Unicode version does
    not matter): the words of `connectra.vql.text.words`, in order, CJK characters one
    by one, for match / match_phrase / span queries.
  - `<f>__text.ngram`: every 3-10 character gram of the whole folded value, spaces and
    punctuation included (an `ngram` tokenizer with no `token_chars` restriction): a
    `term` on it is an exact "contains" for substrings of 3-10 characters.
  - `<f>__text.folded`: the folded value as one `keyword`, for substrings longer than 10
    characters (a `wildcard` `*…*`: exact, at the price of a terms-dictionary scan).
  - `<f>__starts`: the 1- and 2-character prefixes of the folded value at every word
    start (`connectra.vql.text.starts_word`): a `term` on it is the AST's rule for
    substrings shorter than 3 characters.

Why no `asciifolding` filter: values arrive folded by `fold`, and asciifolding folds more
than `fold` does (e.g. `ð` → `d`), which would make the index disagree with the other
engines. The `lowercase` filters are kept (a no-op on folded text, a guard otherwise).

Keywords are indexed up to `KEYWORD_IGNORE_ABOVE` characters (Lucene's 32 KiB term limit);
a longer value is stored but not searchable or sortable as a keyword.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from connectra.models.fields import (
    COMPANY_FIELDS,
    COMPANY_PREFIX,
    FIELDS_BY_ENTITY,
    Entity,
    Field,
    FieldKind,
)
from connectra.models.unicode_classes import CJK_RANGES, WORD_RANGES
from connectra.vql.ast import MAX_WINDOW, MIN_SUBSTRING_LENGTH
from connectra.vql.field_paths import (
    NGRAM_MAX,
    NGRAM_MIN,
    starts_path,
    to_micros,
    words_path,
)
from connectra.vql.text import fold, starts_word

KEYWORD_IGNORE_ABOVE = 8191  # characters; at most 4 bytes each < Lucene's 32766-byte term
VERSION_FIELD = "source_version"  # what reconcile compares with PostgreSQL


def index_alias(prefix: str, entity: Entity) -> str:
    """The name searches and writes use: an alias over the current concrete index."""
    return f"{prefix}-{entity.value}"


# -- settings and mappings ---------------------------------------------------------------


def java_class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    """A bracket expression's body in Java regular expression syntax (`\\x{…}`)."""
    return "".join(
        f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}"
        for low, high in ranges
    )


# connectra.vql.text.WORD_PATTERN in Java's syntax.
WORDS_PATTERN = (
    f"[{java_class_body(CJK_RANGES)}][{java_class_body(((0x3099, 0x309A),))}]?"
    f"|[{java_class_body(WORD_RANGES)}]+"
)

ANALYSIS: dict[str, Any] = {
    "normalizer": {
        "connectra_lower": {"type": "custom", "filter": ["lowercase"]},
    },
    "tokenizer": {
        "connectra_words": {"type": "pattern", "pattern": WORDS_PATTERN, "group": 0},
        "connectra_grams": {"type": "ngram", "min_gram": NGRAM_MIN, "max_gram": NGRAM_MAX},
    },
    "analyzer": {
        "connectra_words": {
            "type": "custom",
            "tokenizer": "connectra_words",
            "filter": ["lowercase"],
        },
        "connectra_grams": {
            "type": "custom",
            "tokenizer": "connectra_grams",
            "filter": ["lowercase"],
        },
    },
}


def index_settings(shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "max_ngram_diff": NGRAM_MAX - NGRAM_MIN,
        # page * limit <= MAX_WINDOW, and a page asks for one row more to know if another
        # page follows; search_after paging is not bound by this window.
        "max_result_window": MAX_WINDOW + 1,
        "analysis": ANALYSIS,
    }


def _keyword(**extra: Any) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE, **extra}


def field_mappings(field: Field) -> dict[str, dict[str, Any]]:
    """The mapped properties one catalogue field contributes to the document."""
    kind = field.kind
    if kind is FieldKind.UUID:
        return {field.name: _keyword()}
    if kind is FieldKind.KEYWORD_ARRAY:
        return {field.name: _keyword(normalizer="connectra_lower")}
    if kind in (FieldKind.NUMBER, FieldKind.DATE):
        return {field.name: {"type": "long"}}
    properties = {field.name: _keyword(fields={"lower": _keyword(normalizer="connectra_lower")})}
    if kind is FieldKind.TEXT:
        properties[words_path(field)] = {
            "type": "text",
            "analyzer": "connectra_words",
            "fields": {
                "ngram": {
                    "type": "text",
                    "analyzer": "connectra_grams",
                    "search_analyzer": "keyword",
                },
                "folded": _keyword(),
            },
        }
        properties[starts_path(field)] = _keyword()
    return properties


def mappings(entity: Entity) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in FIELDS_BY_ENTITY[entity].values():
        properties.update(field_mappings(field))
    properties[VERSION_FIELD] = {"type": "keyword", "index": False, "doc_values": False}
    return {"dynamic": "strict", "properties": properties}


def index_body(entity: Entity, shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    return {"settings": {"index": index_settings(shards, replicas)}, "mappings": mappings(entity)}


# -- documents -----------------------------------------------------------------------------


def word_starts(folded: str) -> list[str]:
    """The 1- and 2-character prefixes of `folded` at each word start (see module docs)."""
    found: dict[str, None] = {}
    for position in range(len(folded)):
        if starts_word(folded, position):
            for length in range(1, MIN_SUBSTRING_LENGTH):
                if position + length <= len(folded):
                    found[folded[position : position + length]] = None
    return list(found)


def _field_values(field: Field, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    kind = field.kind
    if kind is FieldKind.KEYWORD_ARRAY:
        values = [str(item) for item in value if item is not None]
        return {field.name: values} if values else {}
    if kind is FieldKind.UUID:
        return {field.name: str(value)}
    if kind is FieldKind.NUMBER:
        return {field.name: int(value)}
    if kind is FieldKind.DATE:
        return {field.name: to_micros(value)}
    text = str(value)
    if kind is FieldKind.TEXT:
        folded = fold(text)
        return {
            field.name: text,
            words_path(field): folded,
            starts_path(field): word_starts(folded),
        }
    return {field.name: text}


def source_version(entity: Entity, row: Mapping[str, Any]) -> str:
    """What a document was built from, as a comparable string: the record's updated_at,
    and for a contact also its company's updated_at / deleted_at (denormalized fields)."""
    moments = [row["updated_at"]]
    if entity is Entity.CONTACTS:
        moments.extend(row.get(f"company__{name}") for name in ("updated_at", "deleted_at"))
    latest = max(to_micros(moment) for moment in moments if moment is not None)
    return str(latest)


def build_document(entity: Entity, row: Mapping[str, Any]) -> dict[str, Any]:
    """The document of one live record.

    `row` holds the table's columns; for contacts also the company's columns as
    `company__<column>` (NULL when the contact has no company), `company__deleted_at`
    included: a soft-deleted company contributes no `company_` fields.
    """
    document: dict[str, Any] = {}
    fields = FIELDS_BY_ENTITY[entity]
    for name, field in fields.items():
        if entity is Entity.CONTACTS and name.startswith(COMPANY_PREFIX) and name != "company_id":
            continue
        document.update(_field_values(field, row.get(name)))
    if entity is Entity.CONTACTS and row.get("company__deleted_at") is None:
        for name in COMPANY_FIELDS:
            contact_field = fields.get(COMPANY_PREFIX + name)
            if contact_field is not None:
                document.update(_field_values(contact_field, row.get(f"company__{name}")))
    document[VERSION_FIELD] = source_version(entity, row)
    return document


def document_id(row: Mapping[str, Any]) -> str:
    value = row["uuid"]
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
