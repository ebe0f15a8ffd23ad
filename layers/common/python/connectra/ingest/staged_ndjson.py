"""Contacts NDJSON on the SQL path: raw lines COPYed, read as JSON and converted in SQL.

The cells of staged.py's conversion come from each line's JSON object (`doc->>'key'`)
instead of CSV columns; the checks and the typed values are the same. What the Python
parser (parse.py `_json_values`, `_mapped`) does with a line, and how the SQL path keeps
exactly that or hands the line to Python:

* Reading JSON. A line enters the COPY unless it holds a byte COPY or the COPY format
  cannot take (NUL, \\x01 and \\x02, the format's quote and delimiter: none is valid in a
  JSON text anyway), is not UTF-8 (COPY would reject the whole batch), nests over
  `MAX_BRACKETS` brackets (Python's json recurses: deeper lines may fail there and not in
  PostgreSQL) or holds a digit run longer than Python turns into an int
  (`sys.get_int_max_str_digits`). SQL reads it with `::jsonb`; when that fails for a
  line, the batch is read again through `connectra_ingest_object` (migration ndjson_1),
  NULL when PostgreSQL refuses the line; a line that is not an object is NULL: flagged. Both
  parsers follow RFC 8259 for what is left (the same whitespace, escapes and number
  syntax; Python's extra NaN/Infinity are refused by PostgreSQL: flagged), and where they
  could differ PostgreSQL refuses (`\\u0000`, lone surrogates, huge exponents). Duplicate
  keys: both keep the last value (documented by both).
* Keys. Python maps each key once, when first met, and that state decides later lines:
  which field a key feeds, the normalizer a field's values go through (the last key first
  met for it: vendor names normalize vocabularies) and the unknown keys reported. The SQL
  path only takes lines whose keys Python has already met, so the lines it takes would
  change nothing there; a line with a key not met yet is flagged, and Python meets its
  keys in file order. Of those keys it takes the unknown ones (values ignored, whatever
  they are) and those feeding a contact field whose values are taken as read; a key
  feeding a company (combined rows), a field being normalized, or too long for the
  statement is not taken (its lines go to Python). The first record of every batch is
  parsed ahead (its result dropped; it is parsed or converted again) so the keys of a
  uniform file are met before its first conversion.
* A batch may meet new keys (a flagged line, or a line outside the COPY) before a line
  the SQL path takes: if one of them makes a field normalized from then on, Python would
  normalize that later line. So while a field that can be normalized (email_status,
  seniority, departments) is taken, a line with a value for it is flagged whenever its
  batch holds a line that may meet a new key.
* Values. A field's value is its key's string; null and "" are missing. A field fed by
  several keys takes the one non-empty value (Python: the first in the line's order,
  which jsonb does not keep): two non-empty values are flagged. A value that is not a
  string or null (numbers, booleans, lists, objects: pydantic decides those) is flagged.

Row errors are therefore always the Python parser's, as for CSV.
"""

from __future__ import annotations

import json
import re
import sys

from connectra.ingest import normalize
from connectra.ingest.parse import RecordParser
from connectra.ingest.splitter import Record
from connectra.ingest.staged import CONTACT_COLUMNS, RAW_TABLE, RawBatch, sql_literal

MAX_BRACKETS = 64  # Python's json recursion limit is far above; PostgreSQL's too
MAX_KEYS = 300  # keys the statement names (jsonb's key removal compares each with each)
MAX_KEY_CHARS = 256
_COPY_FORMAT = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
_INT_DIGITS = sys.get_int_max_str_digits()
_LONG_INT = re.compile(rb"[0-9]{%d}" % (_INT_DIGITS + 1)) if _INT_DIGITS else None
# Fields whose normalizer depends on the keys met (normalize.py: vendor vocabularies).
_NORMALIZABLE = frozenset(normalize.NUMBER_FIELDS) | frozenset(normalize.VOCABULARY_FIELDS)


def ndjson_copy_line(record: Record) -> bytes | None:
    """The line's COPY input (line, offset and the raw JSON, quoted by \\x01 and delimited
    by \\x02, which it does not hold), None when Python must parse it."""
    data = record.data
    if record.error is not None or b"\x00" in data or b"\x01" in data or b"\x02" in data:
        return None
    if data.count(b"{") + data.count(b"[") > MAX_BRACKETS:
        return None
    if _LONG_INT is not None and len(data) > _INT_DIGITS and _LONG_INT.search(data):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return b"%d\x02%d\x02\x01%b\x01\n" % (record.line, record.offset, data)


def _may_meet_new_keys(record: Record, met: frozenset[str]) -> bool:
    """Whether Python parsing this record could meet a key it has not met yet (parse.py
    reads no key of a record it cannot decode or that is not a JSON object)."""
    if record.error is not None:
        return False
    try:
        document = json.loads(record.data.decode("utf-8"))
    except (ValueError, RecursionError):  # what Python refuses, it reads no key of
        return False
    return isinstance(document, dict) and not met.issuperset(document)


def _keys_array(keys: list[str]) -> str:
    if not keys:
        return "'{}'::text[]"
    return f"ARRAY[{', '.join(sql_literal(key) for key in keys)}]::text[]"


class NdjsonCells:
    """A contacts NDJSON file's cells (staged.py `CellSource`), from the parser's keys."""

    def __init__(self, parser: RecordParser) -> None:
        self.parser = parser
        self.revision = 0
        self._taken: dict[str, str | None] = {}  # key → field (None: unknown, ignored)
        self._index: dict[str, int] = {}
        self._met: frozenset[str] = frozenset()
        self._watched: tuple[str, ...] = ()  # normalizable fields taken
        self._outside_new_keys = False
        self._lenient = False
        self._state: object = None

    def raw_columns(self) -> str:
        return "doc text"

    def copy_statement(self) -> str:
        return f"COPY {RAW_TABLE} (line, pos, doc) FROM STDIN WITH ({_COPY_FORMAT})"

    def encode(self, record: Record) -> bytes | None:
        return ndjson_copy_line(record)

    def prepare(self, batch: RawBatch) -> None:
        """Meet the batch's first record's keys, then take the keys the SQL can."""
        if not batch.records:
            return
        self.parser.parse(next(iter(batch.records.values())))  # file order: the first
        self._take_keys()
        self._outside_new_keys = bool(self._watched) and any(
            _may_meet_new_keys(batch.records[offset], self._met) for offset in batch.ineligible
        )
        self._lenient = False
        self._revise()

    def read_leniently(self) -> bool:
        """The batch's conversion failed on a line (`::jsonb` refused it): read its lines
        through `connectra_ingest_object` instead, which makes such a line NULL (flagged).
        The plain cast is the common case's way: the function's exception block costs a
        subtransaction a line."""
        if self._lenient:
            return False
        self._lenient = True
        self._revise()
        return True

    def _revise(self) -> None:
        state = (
            tuple(self._taken.items()),
            self._met,
            self._watched,
            self._outside_new_keys,
            self._lenient,
        )
        if state != self._state:
            self._state = state
            self.revision += 1

    def _take_keys(self) -> None:
        taken: dict[str, str | None] = {}
        for key, field_name in self.parser.key_fields.items():
            if len(taken) >= MAX_KEYS or len(key) > MAX_KEY_CHARS:
                continue
            if field_name is None or (
                field_name in CONTACT_COLUMNS and self.parser.key_normalizer(field_name) is None
            ):
                taken[key] = field_name
        self._taken = taken
        # the keys feeding a field, numbered (their values' columns in `from_clause`)
        mapped = [key for key, field_name in taken.items() if field_name is not None]
        self._index = {key: index for index, key in enumerate(mapped)}
        self._met = frozenset(self.parser.key_fields)
        self._watched = tuple(sorted(_NORMALIZABLE.intersection(taken.values())))

    def _keys_of(self, name: str) -> list[str]:
        return [key for key, field_name in self._taken.items() if field_name == name]

    def _values_of(self, name: str) -> list[str]:
        """The field's keys' values, read once per line by `from_clause` (as `r.k<n>`)."""
        return [f"nullif(r.k{self._index[key]}, '')" for key in self._keys_of(name)]

    def from_clause(self) -> str:
        """Each line read once, then each taken key's value and type read once (OFFSET 0:
        the subqueries are not inlined into every use of their columns), with `new_keys`:
        whether a line of the batch may meet a key Python has not met. `doc` is a JSON
        object or NULL (the plain cast also reads arrays and scalars)."""
        read = "connectra_ingest_object(raw.doc)" if self._lenient else "raw.doc::jsonb"
        parsed = f"(SELECT raw.line, raw.pos, {read} AS read FROM {RAW_TABLE} AS raw OFFSET 0) AS j"
        objects = (
            "(SELECT j.line, j.pos, CASE WHEN jsonb_typeof(j.read) = 'object' THEN j.read END "
            f"AS doc FROM {parsed}) AS p"
        )
        columns = ["p.line", "p.pos", "p.doc"]
        typed = []
        for key, index in self._index.items():
            literal = sql_literal(key)
            columns.append(f"p.doc->>{literal} AS k{index}")
            typed.append(f"coalesce(jsonb_typeof(p.doc->{literal}) IN ('string', 'null'), true)")
        columns.append(f"{' AND '.join(typed) or 'true'} AS strings")
        columns.append(f"(p.doc - {_keys_array(list(self._taken))}) = '{{}}'::jsonb AS known")
        fenced = f"(SELECT {', '.join(columns)} FROM {objects} OFFSET 0)"
        if not self._watched:
            return f"{fenced} AS r"
        # A line PostgreSQL cannot read may still meet keys in Python (NULL: counted).
        unmet = (
            "NOT q.known"  # every key met is taken: a key not taken is a key not met
            if self._met == frozenset(self._taken)
            else f"(q.doc - {_keys_array(sorted(self._met))}) <> '{{}}'::jsonb"
        )
        outside = "true" if self._outside_new_keys else "false"
        return (
            f"(SELECT q.*, {outside} OR bool_or(coalesce({unmet}, true)) OVER () AS new_keys "
            f"FROM {fenced} AS q) AS r"
        )

    def cell(self, name: str) -> str:
        values = self._values_of(name)
        if not values:
            return "NULL::text"
        return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"

    def plain_cells(self) -> list[str]:
        # A field's one non-empty value (`checks`): its cell; the other keys' are blank.
        fed = {field_name for field_name in self._taken.values() if field_name is not None}
        return [f"coalesce(v.{name}, '')" for name in CONTACT_COLUMNS if name in fed]

    def checks(self) -> list[str]:
        checks = ["r.doc IS NOT NULL", "r.known", "r.strings"]
        for name in CONTACT_COLUMNS:
            values = self._values_of(name)
            if len(values) > 1:
                checks.append(f"num_nonnulls({', '.join(values)}) <= 1")
        if self._watched:
            unset = " AND ".join(f"v.{name} IS NULL" for name in self._watched)
            checks.append(f"(NOT r.new_keys OR ({unset}))")
        return checks
