"""Parsing off the Python hot path: raw COPY of well-formed records, conversion in SQL.

For a contacts CSV (with its companies' columns too: staged_combined.py) or a companies
CSV (`supports`), and a contacts NDJSON file (staged_ndjson.py), the chunk worker does not
parse records in Python. It prefixes each record's bytes with its line and byte offset
and COPYs them into a temporary (unlogged, session-private) table; PostgreSQL splits the
fields (a `CellSource` says how: `CsvCells` here, `NdjsonCells` for NDJSON lines). One
statement then validates and converts them (lengths, uuid syntax, list cells, the
entity's own checks, `uuid_generate_v5` of the natural key) into typed rows:
`StagedConverter` holds the tables and the common checks, its subclasses the entity's
(`ContactConverter` here, `CompanyConverter` in staged_companies.py,
`CombinedContactConverter` in staged_combined.py; key normalization in staged_keys.py).

The SQL path only keeps what it can decide exactly as the Python parser (parse.py and
models/records.py) would; everything else goes back to Python, record by record:

* records with a newline or CR inside, or whose quoting is not strictly well formed
  (`_WELL_QUOTED`), never enter the COPY (PostgreSQL accepts `"a"b`, Python does not);
* a batch COPY rejects (invalid UTF-8, NUL, a wrong number of fields) is parsed whole by
  Python, so its row errors keep their line numbers and messages;
* a record whose cells are not "plain" (a leading `'`, whitespace or a control character
  at either end of a cell: formula escapes and the Unicode whitespace Python and pydantic
  strip differently), or that fails any check, or whose key needs Unicode normalization
  or a spelling the SQL normalizers do not take (a non-ASCII name or domain, a bracketed
  host), is flagged and parsed by Python, which produces the
  valid row or the exact row errors.

Row errors are therefore always the Python parser's; the SQL path only accepts rows.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from psycopg import Connection
from psycopg.rows import tuple_row

from connectra.ingest import normalize
from connectra.ingest import staged_keys as keys
from connectra.ingest.columns import ColumnMap
from connectra.ingest.splitter import Record
from connectra.ingest.staged_keys import PRINTABLE_ASCII
from connectra.models.fields import WRITABLE_COLUMNS, Entity
from connectra.models.records import RECORD_MODELS, RecordIn

RAW_TABLE = "ingest_raw"
TYPED_TABLE = "ingest_typed"

# A CSV field as both parsers read it the same way: unquoted without quotes or line
# breaks, or quoted with doubled inner quotes. A record is these, comma-separated.
_FIELD = rb'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
_WELL_QUOTED = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*")

# Characters a cell may not start or end with on the SQL path: controls, space, the
# formula escape `'`, and every non-ASCII character Python's str.strip or pydantic's
# (Rust) trim treats as whitespace.
_EDGE = r"[\x02-\x20'\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_NOT_PLAIN = rf"(^|\x01){_EDGE}|{_EDGE}(\x01|$)"
# models/records.py `_EMAIL` over printable ASCII (Python's \s adds \x1c-\x1f: excluded).
_EMAIL_CHAR = r"[\x21-\x2b\x2d-\x3a\x3c-\x3f\x41-\x7e]"
_EMAIL = rf"^{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+$"
# models/records.py `_LINKEDIN` (IGNORECASE) on printable ASCII: lower() then a
# case-sensitive match (PostgreSQL's ~* costs ~5x more); the usual spellings are
# recognized by a prefix first, the regex decides the others.
_LINKEDIN = r"^(https?://)?([a-z0-9-]+\.)*linkedin\.com(/.*)?$"
_LINKEDIN_PREFIXES = (
    "https://www.linkedin.com/",
    "https://linkedin.com/",
    "http://www.linkedin.com/",
)


def linkedin_ok(cell: str) -> str:
    """The cell is NULL or a LinkedIn URL `_LINKEDIN` takes, in printable ASCII."""
    lowered = f"lower({cell})"
    recognized = " OR ".join(
        [
            *(f"{lowered} LIKE '{prefix}%'" for prefix in _LINKEDIN_PREFIXES),
            f"{lowered} ~ '{_LINKEDIN}'",
        ]
    )
    return f"({cell} IS NULL OR ({cell} ~ '{PRINTABLE_ASCII}' AND ({recognized})))"


def length_checks(model: type[RecordIn], cells: dict[str, str]) -> list[str]:
    """Each cell (field name → its SQL) within its field's `max_length` in `model`."""
    checks = []
    for name, cell in cells.items():
        limit = model_bound(model, name, "max_length") if name in model.model_fields else None
        if limit is not None:
            checks.append(length_at_most(cell, limit))
    return checks


def uuid_syntax(cell: str) -> str:
    """8-4-4-4-12 hex digits (the one spelling the SQL path takes; pydantic takes others
    too, which go to Python): dashes where the pattern puts them and nowhere else, every
    other character a hex digit. LIKE and one negated class cost a third of `translate`
    with the hex digits (per-character multibyte work) and a fifth of a counted regex."""
    return (
        f"({cell} LIKE '________-____-____-____-____________' "
        f"AND {cell} NOT LIKE '%-%-%-%-%-%' AND {cell} !~ '[^0-9a-fA-F-]')"
    )


def length_at_most(cell: str, limit: int) -> str:
    """`char_length(cell) <= limit`, decided by the byte length (a header read) whenever
    the cell has at most `limit` bytes; char_length walks the characters only otherwise."""
    return f"({cell} IS NULL OR octet_length({cell}) <= {limit} OR char_length({cell}) <= {limit})"


_MAX_LIST_ITEMS = 200
MAX_RAW_COLUMNS = 1_500  # the raw table adds line and offset; PostgreSQL allows 1,600


# A list cell's parts, trimmed (the cell itself has no blank ends: it is plain). A cell
# whose parts are all non-blank, no two equal ignoring case, becomes its parts: up to 4
# parts compared pairwise, more by counting the distinct ones (a subquery, still a
# fifth of the exact function's cost). The others go through connectra_ingest_tags
# (migration writepath_1), exact but an aggregate query per cell.
_PAIRWISE_PARTS = 4


def list_parts(column: str) -> str:
    """The select item `<column>_parts` of a list cell `v.<column>` (for `list_value`)."""
    cell = f"v.{column}"
    return (
        f"CASE WHEN {cell} ~ '[;,]' THEN regexp_split_to_array({cell}, "
        f"CASE WHEN strpos({cell}, ';') > 0 THEN ' *; *' ELSE ' *, *' END) END AS {column}_parts"
    )


def list_value(column: str) -> str:
    """The text[] of a checked row's list cell (`list_ok` holds), as the models clean it."""
    cell, parts = f"v.{column}", f"v.{column}_parts"
    pairwise = " OR ".join(
        f"(cardinality({parts}) = {n} AND "
        + " AND ".join(
            [f"{parts}[{i}] <> ''" for i in range(1, n + 1)]
            + [
                f"lower({parts}[{i}]) <> lower({parts}[{j}])"
                for i in range(1, n)
                for j in range(i + 1, n + 1)
            ]
        )
        + ")"
        for n in range(2, _PAIRWISE_PARTS + 1)
    )
    counted = (
        f"(cardinality({parts}) > {_PAIRWISE_PARTS} AND NOT '' = ANY({parts}) AND "
        f"cardinality({parts}) = (SELECT count(DISTINCT lower(part)) FROM unnest({parts}) AS part))"
    )
    return (
        f"CASE WHEN {cell} IS NULL THEN '{{}}'::text[] WHEN {parts} IS NULL THEN ARRAY[{cell}] "
        f"WHEN {pairwise} OR {counted} THEN {parts} ELSE connectra_ingest_tags({cell}) END"
    )


def list_ok(column: str) -> str:
    """A list cell SQL splits as `_split_list` does: printable ASCII, at most 200 parts."""
    cell = f"v.{column}"
    return (
        f"({cell} IS NULL OR ({cell} ~ '{PRINTABLE_ASCII}' "
        f"AND cardinality(string_to_array({cell}, CASE WHEN strpos({cell}, "
        f"';') > 0 THEN ';' ELSE ',' END)) <= {_MAX_LIST_ITEMS}))"
    )


def sql_literal(text: str) -> str:
    """A constant as an SQL string literal (standard_conforming_strings: backslashes kept)."""
    return "'" + text.replace("'", "''") + "'"


def is_sql_eligible(record: Record) -> bool:
    """Whether COPY and Python split this record into the same fields."""
    data = record.data
    if record.error is not None or b"\n" in data or b"\r" in data:
        return False
    return b'"' not in data or _WELL_QUOTED.fullmatch(data) is not None


# The normalizers (ingest/normalize.py) the converters apply in SQL: numbers (staged_
# companies.py) and the vendor list split, which differs from the models' only on `|`
# (the converters leave cells with one to Python).
_SQL_NORMALIZERS = frozenset([normalize.amount, normalize.split_list])


def supports(entity: Entity, columns: ColumnMap | None) -> bool:
    """Files the SQL path converts: CSV whose values are read as written or normalized
    by the converters (contacts files with company columns too: staged_combined.py)."""
    if columns is None:
        return False
    if len(columns.header) > MAX_RAW_COLUMNS:  # PostgreSQL tables stop at 1,600 columns
        return False
    return all(normalizer in _SQL_NORMALIZERS for normalizer in columns.normalized_fields.values())


def model_bound(model: type[RecordIn], name: str, bound: str) -> int | None:
    """A field's constraint `bound` (`max_length`, `le`) in `model`, None without one."""
    for constraint in model.model_fields[name].metadata:
        limit = getattr(constraint, bound, None)
        if limit is not None:
            return int(limit)
    return None


def csv_copy_line(record: Record) -> bytes | None:
    """A CSV record's COPY input (its line, offset and fields), None when Python must parse it."""
    if not is_sql_eligible(record):
        return None
    return b"%d,%d,%b\n" % (record.line, record.offset, record.data)


@dataclass
class RawBatch:
    """Eligible records waiting for one COPY (bounded by the chunk's batch size)."""

    records: dict[int, Record] = field(default_factory=dict)  # by byte offset
    lines: list[bytes] = field(default_factory=list)  # the COPY input of eligible records
    ineligible: list[int] = field(default_factory=list)  # offsets Python must parse
    encode: Callable[[Record], bytes | None] = csv_copy_line  # the cell source's COPY line

    def add(self, record: Record) -> None:
        """Any record: ineligible ones stay in the batch (for Python), in file order, so a
        batch holds the same records whichever way each of them goes."""
        self.records[record.offset] = record
        line = self.encode(record)
        if line is not None:
            self.lines.append(line)
        else:
            self.ineligible.append(record.offset)

    def __len__(self) -> int:
        return len(self.records)

    def take(self, offsets: Sequence[int]) -> list[Record]:
        return [self.records[offset] for offset in sorted(offsets)]

    def clear(self) -> None:
        self.records.clear()
        self.lines.clear()
        self.ineligible.clear()


class CellSource(Protocol):
    """Where the conversion's cells come from: the raw table's layout, how a record enters
    the COPY, and each field's cell as an SQL expression over the raw row `r`."""

    @property
    def revision(self) -> int:
        """Changes whenever the SQL below changes (statements built from it are rebuilt)."""
        ...

    def raw_columns(self) -> str:
        """The raw table's columns after `line` and `pos` (DDL)."""
        ...

    def copy_statement(self) -> str: ...

    def encode(self, record: Record) -> bytes | None:
        """The record's COPY input line, None when Python must parse it."""
        ...

    def prepare(self, batch: RawBatch) -> None:
        """Called once a batch is complete, before its COPY."""
        ...

    def read_leniently(self) -> bool:
        """The batch's conversion failed on a value (DataError): whether the source now
        reads the batch another way (the caller converts again), for the batch's rest."""
        ...

    def from_clause(self) -> str:
        """The raw rows as `r` (with `r.line`, `r.pos` and whatever `cell` reads)."""
        ...

    def cell(self, name: str) -> str:
        """The field's value (text, NULL when missing) for the row `r`."""
        ...

    def plain_cells(self) -> list[str]:
        """Every value the record feeds a field with (never NULL), over `r` and the cells `v`:
        none may start or end with a character the SQL path leaves to Python."""
        ...

    def checks(self) -> list[str]:
        """The source's own conditions for SQL to decide the record (over `r` and `v`)."""
        ...


class CsvCells:
    """A CSV file's cells: one raw column per header column, split by COPY."""

    revision = 0

    def __init__(self, columns: ColumnMap) -> None:
        self.columns = columns
        self.width = len(columns.header)
        self.source = {name: index for index, name in columns.positions}

    def raw_columns(self) -> str:
        return ", ".join(f"c{index} text" for index in range(self.width))

    def copy_statement(self) -> str:
        target = ", ".join(["line", "pos", *(f"c{index}" for index in range(self.width))])
        return f"COPY {RAW_TABLE} ({target}) FROM STDIN WITH (FORMAT csv)"

    def encode(self, record: Record) -> bytes | None:
        return csv_copy_line(record)

    def prepare(self, batch: RawBatch) -> None:
        pass

    def read_leniently(self) -> bool:
        return False  # COPY split the fields: the conversion reads them one way only

    def from_clause(self) -> str:
        return f"{RAW_TABLE} AS r"

    def cell(self, name: str) -> str:
        index = self.source.get(name)
        return f"nullif(r.c{index}, '')" if index is not None else "NULL::text"

    def plain_cells(self) -> list[str]:
        return [f"coalesce(r.c{index}, '')" for index in sorted(self.source.values())]

    def checks(self) -> list[str]:
        return []


CONTACT_COLUMNS = ("uuid", *WRITABLE_COLUMNS[Entity.CONTACTS])
# Each entity's unique key besides its uuid: the typed column and, over a stored record
# `c`, the value a typed row's matches (staged_load.py `_OWNED_KEY`, db/upsert.py).
_UNIQUE_KEYS = {
    Entity.CONTACTS: ("email", "lower(c.email)"),
    Entity.COMPANIES: ("normalized_domain", "c.normalized_domain"),
}


class StagedConverter(ABC):
    """The raw and typed temporary tables of one chunk, and the SQL between them; the
    entity's checks and typed values come from its subclass."""

    entity: Entity
    direct = True  # whether a batch may take the one-statement way (staged_direct.py)

    def __init__(self, conn: Connection[Any], source: CellSource) -> None:
        self.conn = conn
        self.source = source
        self.columns = ("uuid", *WRITABLE_COLUMNS[self.entity])
        self.typed_columns = self.columns  # the typed table's, after line and pos
        self.model = RECORD_MODELS[self.entity]

    def create_tables(self) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS pg_temp.{RAW_TABLE}, pg_temp.{TYPED_TABLE}")
        self.conn.execute(
            f"CREATE TEMP TABLE {RAW_TABLE} (line bigint, pos bigint, "
            f"{self.source.raw_columns()}) ON COMMIT DROP"
        )
        self.conn.execute(
            f"CREATE TEMP TABLE {TYPED_TABLE} ON COMMIT DROP AS "
            f"SELECT 0::bigint AS line, 0::bigint AS pos, {', '.join(self.columns)} "
            f"FROM {self.entity.value} WITH NO DATA"
        )

    def copy(self, batch: RawBatch) -> None:
        """COPY the batch (raises psycopg.DataError when PostgreSQL rejects it)."""
        self.conn.execute(f"TRUNCATE {RAW_TABLE}, {TYPED_TABLE}")
        with self.conn.cursor() as cursor, cursor.copy(self.source.copy_statement()) as copy:
            copy.write(b"".join(batch.lines))

    def convert(self) -> list[int]:
        """Typed rows for what SQL can decide; the offsets of the records it leaves to Python."""
        statement = self._convert_statement()
        flagged = self.conn.cursor(row_factory=tuple_row).execute(statement).fetchall()
        return [row[0] for row in flagged]

    def _convert_statement(self) -> str:
        """Built from constants and the cell source's layout only (no cell values)."""
        return f"""
            WITH checked AS ({self.checked_query()}), typed AS (
                INSERT INTO {TYPED_TABLE} (line, pos, {", ".join(self.typed_columns)})
                SELECT v.line, v.pos, {self.typed_values()} FROM checked AS v WHERE v.ok
            )
            SELECT pos FROM checked WHERE NOT ok
        """

    def checked_query(self) -> str:
        """The raw records' cells, each with `ok` (SQL decides it exactly) and the
        entity's derived values (a query over the raw table, for a `checked` CTE)."""
        cells = [f"{self.source.cell(name)} AS {name}" for name in self.columns]
        values = ", ".join([*cells, *self._more_cells()])
        derived = "".join(f", {item}" for item in self._derived())
        # `ok` is never NULL: a NULL would leave the record neither typed nor flagged.
        return (
            f"SELECT r.line, r.pos, v.*, coalesce({' AND '.join(self._checks())}, false) AS ok"
            f"{derived} FROM {self.source.from_clause()}, LATERAL (SELECT {values}) AS v"
            f"{self._laterals()}"
        )

    def _common_checks(self) -> list[str]:
        """The source's own checks, plain cells within the model's lengths, a well-formed
        uuid if any."""
        plain = self.source.plain_cells()
        cells_joined = f"concat_ws(E'\\x01', {', '.join(plain)})" if plain else "''"
        checks = [*self.source.checks(), f"{cells_joined} !~ {sql_literal(_NOT_PLAIN)}"]
        checks += length_checks(self.model, {name: f"v.{name}" for name in self.columns})
        checks.append(f"(v.uuid IS NULL OR {uuid_syntax('v.uuid')})")
        return checks

    @abstractmethod
    def _checks(self) -> list[str]:
        """The conditions of `ok` (over the raw row `r`, its cells `v` and `_laterals`)."""

    def _more_cells(self) -> list[str]:
        """Further cells of `v` (`<SQL> AS <name>`) beyond the record's own columns."""
        return []

    def _derived(self) -> list[str]:
        """Select items `checked` adds after `ok` (for `typed_values`)."""
        return []

    def _laterals(self) -> str:
        """Further `, LATERAL (…) AS x` items of `checked`'s FROM (after the cells `v`)."""
        return ""

    def typed_values(self) -> str:
        """The typed row of a `checked` row `v` whose `ok` holds, in `typed_columns` order."""
        typed = self._typed()
        return ", ".join(f"{typed[name]} AS {name}" for name in self.typed_columns)

    @abstractmethod
    def _typed(self) -> dict[str, str]:
        """Each typed column's SQL over a `checked` row `v` whose `ok` holds."""

    def move_to_python(
        self,
        uuids: Sequence[str],
        owned: Sequence[str],
        companies: Sequence[str] = (),
        *,
        check_companies: bool,
    ) -> list[int]:
        """Take out of the typed rows every row that may end on a record Python loads (its
        key is one of `uuids`, or its unique key, a contact's email or a company's domain,
        meets one of `owned`, the unique keys of the rows Python loads, or the record of
        either holds one of them: the loaders resolve a unique key to the live record
        holding it, and both loaders must see such rows in file order), a row of one of
        `companies` (combined rows: the natural keys of the companies Python writes), or,
        with `check_companies`, a row naming a missing company (Python reports that error);
        the offsets taken out. Usually there is none."""
        missing = self._missing_companies() if check_companies else []
        if not missing and not uuids and not owned and not companies:
            return []
        unique, stored = _UNIQUE_KEYS[self.entity]
        table = self.entity.value
        # Hashed lookups: the temporary table has no statistics, and a plan that rescans
        # it per row took seconds per batch.
        naming_missing = (
            f"SELECT t.uuid FROM {TYPED_TABLE} AS t "
            "WHERE t.company_id = ANY(string_to_array(%(companies)s, ',')::uuid[]) UNION "
            if missing
            else ""
        )
        of_companies = f"{self._rows_of_companies()} UNION " if companies else ""
        statement = f"""
            WITH keys AS (SELECT unnest(string_to_array(%(uuids)s, ',')::uuid[]) AS uuid),
            owned AS (
                SELECT unnest(string_to_array(%(owned)s, ',')) AS value
                UNION SELECT {stored} FROM {table} AS c JOIN keys ON c.uuid = keys.uuid
                WHERE c.deleted_at IS NULL AND c.{unique} IS NOT NULL
            ),
            moved AS (
                {naming_missing}{of_companies}SELECT keys.uuid FROM keys
                UNION SELECT c.uuid FROM {table} AS c JOIN owned ON {stored} = owned.value
                WHERE c.deleted_at IS NULL
                UNION SELECT t.uuid FROM {TYPED_TABLE} AS t JOIN owned ON t.{unique} = owned.value
            )
            DELETE FROM {TYPED_TABLE} AS t USING moved WHERE t.uuid = moved.uuid
            RETURNING t.pos
        """
        params = {
            "companies": ",".join(missing),
            "of_companies": ",".join(companies),
            "uuids": ",".join(uuids),
            "owned": ",".join(owned),
        }
        rows = self.conn.cursor(row_factory=tuple_row).execute(statement, params).fetchall()
        return [row[0] for row in rows]

    def _rows_of_companies(self) -> str:
        """The typed rows' keys whose company is one of `%(of_companies)s` (only typed rows
        of combined files carry a company: staged_combined.py)."""
        return "SELECT NULL::uuid WHERE false"

    def _missing_companies(self) -> list[str]:
        """The company ids the typed rows name that no company has (an index probe per
        distinct id: the caller asks only once a chunk has met a missing company)."""
        rows = (
            self.conn.cursor(row_factory=tuple_row)
            .execute(
                f"SELECT wanted.id::text FROM (SELECT DISTINCT company_id AS id "
                f"FROM {TYPED_TABLE} WHERE company_id IS NOT NULL) AS wanted "
                "WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.uuid = wanted.id)"
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    def typed_offsets(self) -> list[int]:
        cursor = self.conn.cursor(row_factory=tuple_row)
        rows = cursor.execute(f"SELECT pos FROM {TYPED_TABLE}").fetchall()
        return [row[0] for row in rows]


class ContactConverter(StagedConverter):
    """Contacts: email check, list cell, person key of ASCII names and LinkedIn URL."""

    entity = Entity.CONTACTS

    def _checks(self) -> list[str]:
        return [
            *self._common_checks(),
            f"(v.email IS NULL OR v.email ~ '{_EMAIL}')",
            linkedin_ok("v.linkedin_url"),
            list_ok("departments"),
            f"(v.company_id IS NULL OR {uuid_syntax('v.company_id')})",
            # A key without email: the person key (ASCII names only; a LinkedIn URL is
            # one linkedin_ok takes, which staged_keys.linkedin normalizes exactly).
            "(v.uuid IS NOT NULL OR v.email IS NOT NULL OR ((v.first_name IS NOT NULL "
            "OR v.last_name IS NOT NULL OR v.linkedin_url IS NOT NULL) "
            f"AND concat(v.first_name, v.last_name) ~ '{PRINTABLE_ASCII}'))",
        ]

    def _derived(self) -> list[str]:
        return [list_parts("departments")]

    def _typed(self) -> dict[str, str]:
        first = keys.name("coalesce(v.first_name, '')")
        last = keys.name("coalesce(v.last_name, '')")
        linkedin = f"coalesce({keys.linkedin('lower(v.linkedin_url)')}, '')"
        person = f"'person:' || {first} || '|' || {last} || '|' || {linkedin}"
        key = f"CASE WHEN v.email IS NOT NULL THEN 'email:' || lower(v.email) ELSE {person} END"
        return {name: f"v.{name}" for name in self.columns} | {
            "uuid": f"coalesce(v.uuid::uuid, {keys.uuid5('contacts', key)})",
            "email": "lower(v.email)",
            "departments": list_value("departments"),
            "company_id": "v.company_id::uuid",
        }
