"""The NDJSON SQL path's raw reading (ingest/staged_ndjson.py): every eligible line reaches
the raw table byte for byte, and what `connectra_ingest_object` (migration ndjson_1)
reads as an object, Python's json module reads as the same object."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectra.ingest.parse import FileFormat, RecordParser
from connectra.ingest.splitter import Record
from connectra.ingest.staged import RAW_TABLE, ContactConverter, RawBatch
from connectra.ingest.staged_ndjson import NdjsonCells
from connectra.models.fields import Entity

_line_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\x01\x02\n"),
    max_size=40,
)
# JSON-like pieces: objects of them, some damaged, are what both parsers must agree on.
_STRINGS = [
    '"k"',
    '"v"',
    '"\\u00e9"',
    '"\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\udc00\\ud800"',
    '"\\u0000"',
    '"\\/\\b\\f\\n\\r\\t"',
    '"\\x"',
    '"\u2028"',
    '"\x7f"',
    '"a\tb"',
    '"\\"',
    '""',
]
_VALUES = [
    *_STRINGS,
    "0",
    "-0",
    "01",
    "1.",
    ".5",
    "1e5",
    "1E+5",
    "-1.5e-3",
    "1e999999",
    "1e-999999",
    "NaN",
    "-Infinity",
    "true",
    "false",
    "null",
    "nul",
    "[]",
    '[1, "x"]',
    '{"n": {}}',
    "+1",
]
_SPACE = st.sampled_from(["", " ", "\t", "\r", "\n", "\ufeff", "\u00a0"])
_member = st.tuples(_SPACE, st.sampled_from(_STRINGS), _SPACE, st.sampled_from(_VALUES)).map(
    lambda parts: f"{parts[0]}{parts[1]}:{parts[2]}{parts[3]}"
)
_damage = st.sampled_from(["", "", "", "", ",", "}", "{", ":", '"', "x"])


@st.composite
def _json_lines(draw: st.DrawFn) -> str:
    text = "{" + ",".join(draw(st.lists(_member, max_size=4))) + "}" + draw(_SPACE)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(_damage) + text[at:]


_settings = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _raw_rows(conn: psycopg.Connection[Any], lines: list[bytes]) -> list[tuple[int, str, Any]]:
    cells = NdjsonCells(RecordParser(Entity.CONTACTS, FileFormat.NDJSON))
    converter = ContactConverter(conn, cells)
    batch = RawBatch(encode=cells.encode)
    for index, data in enumerate(lines):
        batch.add(Record(offset=index * 1000, line=index + 1, data=data))
    rows: list[dict[str, Any]] = []
    with conn.transaction():
        converter.create_tables()
        converter.copy(batch)
        rows = conn.execute(
            f"SELECT pos, doc, connectra_ingest_object(doc) AS object FROM {RAW_TABLE} ORDER BY pos"
        ).fetchall()
        raise psycopg.Rollback()  # the temporary tables go with it
    return [(row["pos"], row["doc"], row["object"]) for row in rows]


@_settings
@given(st.lists(_line_text.filter(str.strip), min_size=1, max_size=5))
def test_every_eligible_line_is_copied_byte_for_byte(conn: Any, texts: list[str]) -> None:
    rows = _raw_rows(conn, [text.encode() for text in texts])
    assert [(pos, doc) for pos, doc, _ in rows] == [
        (index * 1000, text) for index, text in enumerate(texts)
    ]


def _python_object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


@_settings
@given(st.lists(_json_lines(), min_size=1, max_size=5))
def test_what_postgresql_reads_as_an_object_python_reads_the_same(
    conn: Any, texts: list[str]
) -> None:
    texts = [text.replace("\n", " ") for text in texts]  # one line each
    for _, doc, read in _raw_rows(conn, [text.encode() for text in texts]):
        if read is not None:
            assert _python_object(doc) == read, doc


def test_objects_of_every_json_type_are_read_alike(conn: Any) -> None:
    lines = [
        b'{"a": "x", "a": "y", "b": [1, {"c": null}], "d": -1.5e-3, "e": true}',
        b'{"k": "\\ud83d\\ude00 \\u00e9\\/"}',
        b'{"k": "\\u0000"}',
        b'{"k": NaN}',
        b'["a"]',
    ]
    read = [row[2] for row in _raw_rows(conn, lines)]
    assert read == [_python_object(lines[0].decode()), {"k": "😀 é/"}, None, None, None]
