"""The PostgreSQL search engine's structures, defined once: what each backend needs on the
contacts and companies tables, what is present, and the online switch between the two.

* `SEARCH_BACKEND=opensearch`: the tables carry only their keys (primary key, natural-key
  uniques, foreign keys; migration 0001). OpenSearch answers every search.
* `SEARCH_BACKEND=postgres`: the keys plus the set below, which `connectra.vql.sql` uses.

The set (every index but the CJK ones partial on `deleted_at IS NULL`, the rows search sees):

* Search columns `vql_<field>_folded` (connectra_fold) and `vql_<field>_words`
  (connectra_words) per text field. PostgreSQL computes them, from those two SQL functions
  only, in a BEFORE INSERT/UPDATE trigger: plain nullable columns, so adding them takes no
  table rewrite (a stored generated column would hold an exclusive lock for the whole
  rewrite), and the switch fills them in batches while the table stays writable. A
  migration that changes connectra_fold or connectra_words calls `rebuild` to recompute
  them (the trigger function is regenerated too).
* One trigram GIN per text field, on its folded column: substring (`LIKE '%…%'`), the
  prefilter of word and phrase matches (each term, or the phrase's terms in order, is a
  substring of the folded text; the stored words recheck), and fuzzy matches (`%>>`).
* One btree `(uuid)` per text field, partial on its folded column holding a CJK character:
  the rows the fuzzy `%>>` prefilter cannot vouch for (pg_trgm joins CJK characters to the
  letters beside them, connectra_words does not), ORed with it (vql/fuzzy_sql.py).
* A GIN on connectra_word_start_grams(folded column) of companies.name
  (WORD_START_INDEXED_COMPANY_FIELDS): the substring terms under 3 characters, matched
  at word starts (vql/sql.py).
* btree on `lower(col)` of keyword fields (selective equality), GIN on
  `connectra_lower_array(col)` of array fields (any element), btree `(sort key, uuid)`
  for the sorts worth an index. company_id needs none of its own: the foreign key's index
  (contacts_company_id_idx, a key) serves the company join and company_id filters.

Switching (`apply`) is idempotent and online: CREATE/DROP INDEX CONCURRENTLY, columns
added without a rewrite and filled in batches, dropped (a catalogue change). An index of
the set's name whose definition is not the set's (a design changed since it was built)
is built again beside it and swapped in, as is an index on connectra_word_start_grams
built with an earlier body of that function (WORD_START_GRAMS_MARK). It runs in
autocommit mode: CONCURRENTLY cannot run inside a transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from connectra.models.char_classes import holds_cjk
from connectra.models.fields import (
    CONTACT_TEXT_SORTS,
    COUNTRY_SCOPED_CONTACT_SORTS,
    FEW_VALUED_COMPANY_SORTS,
    WORD_START_INDEXED_COMPANY_FIELDS,
)

Backend = Literal["postgres", "opensearch"]
LIVE = "WHERE deleted_at IS NULL"
BACKFILL_BATCH_ROWS = 20_000
# Index builds can take minutes at 1M rows; a concurrent build waits for writers' snapshots.
MAINTENANCE_SETTINGS = {"maintenance_work_mem": "256MB", "statement_timeout": "0"}

# Text fields (VQL FieldKind.TEXT) per table: each gets the two search columns and a trigram
# GIN index on the folded one.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": ("first_name", "last_name", "email", "title"),
    "companies": ("name", "website", "address"),
}
COLUMN_KINDS: dict[str, tuple[str, str]] = {
    # kind: (type, SQL function computing it from the field)
    "folded": ("text", "connectra_fold"),
    "words": ("text[]", "connectra_words"),
}


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    method: str  # USING <method> (<columns>)
    where: str = LIVE  # the partial index's condition

    def create(self, *, concurrently: bool) -> str:
        how = "CONCURRENTLY " if concurrently else ""
        target = f"{self.name} ON {self.table} USING {self.method}"
        return f"CREATE INDEX {how}IF NOT EXISTS {target} {self.where}"

    def drop(self, *, concurrently: bool) -> str:
        how = "CONCURRENTLY " if concurrently else ""
        return f"DROP INDEX {how}IF EXISTS {self.name}"


def _trigram(table: str, field: str) -> Index:
    return Index(
        f"vql_{table}_{field}_folded_trgm", table, f"gin (vql_{field}_folded gin_trgm_ops)"
    )


def _cjk_rows(table: str, field: str) -> Index:
    """The rows whose folded field holds a CJK character, which a fuzzy term's `%>>`
    trigram prefilter cannot vouch for (models/char_classes.py HOLDS_CJK_PATTERN): the other
    half of its BitmapOr. Few rows, and on a write one regular-expression test per field
    (an index entry only for those rows). Deleted rows too, unlike the rest of the set:
    the prefilter is then the exact OR of the two indexes' conditions, which spares the
    candidates a second trigram test (fuzzy_trigram_prefilter)."""
    return Index(
        f"vql_{table}_{field}_cjk",
        table,
        "btree (uuid)",
        f"WHERE {holds_cjk(f'vql_{field}_folded')}",
    )


# The function of the word-start indexes (`_word_starts`), created with the set.
#
# connectra_word_start_grams(f) holds every string of 1 or 2 characters that starts at a
# word start of f (and more). A word starts at position p when p is the first position,
# or the character before p is not a word character (WORD_CLASS), or a CJK character is
# at p (vql/text.py starts_word). The function cuts f into tokens: maximal runs of
# A = [a-z0-9] and single characters outside A, and keeps of each token its first
# character and its first two characters followed by the next token's first one. Take a
# word start p. If f[p] is outside A, it is a token of its own: its character and f[p:p+2]
# (the next token starts at p + 1) are kept. If f[p] is in A, it is not CJK, so p is the
# first position or f[p-1] is not a word character, hence not in A (A lies within
# WORD_CLASS): p begins a run, whose first character and first two characters (running
# into the next token when the run is one character long) are kept. Either way f[p:p+1]
# and f[p:p+2] are in the array: `grams @> ARRAY[term]` loses no row where the term
# matches (the exact test then decides). A is spelled out character by character: no
# range whose meaning could depend on a collation. ~7 µs per value on a write.
WORD_START_GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION connectra_word_start_grams(folded text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT pg_catalog.array_agg(DISTINCT gram) FROM (
    SELECT token.piece[1] AS piece,
        pg_catalog.lead(token.piece[1]) OVER (ORDER BY token.position) AS next_piece
    FROM pg_catalog.regexp_matches(folded,
        '[abcdefghijklmnopqrstuvwxyz0123456789]+|[^abcdefghijklmnopqrstuvwxyz0123456789]', 'g')
        WITH ORDINALITY AS token(piece, position)
) AS tokens, LATERAL (VALUES (pg_catalog.left(tokens.piece, 1)),
    (pg_catalog.left(tokens.piece || coalesce(tokens.next_piece, ''), 2))) AS grams(gram) $$
"""

# An index on a function's results is stale once the function's body changes, and
# PostgreSQL's printed index definition names the function only. The function's comment
# marks the body its indexes were built with; the switch sets it once they are rebuilt.
WORD_START_GRAMS_MARK = (
    "built with body " + hashlib.sha256(WORD_START_GRAMS_FUNCTION.encode()).hexdigest()[:16]
)
MARK_WORD_START_GRAMS = (
    f"COMMENT ON FUNCTION connectra_word_start_grams(text) IS '{WORD_START_GRAMS_MARK}'"
)


def _word_starts(table: str, field: str) -> Index:
    """The 1-2 character strings found at the folded field's word starts (and more:
    WORD_START_GRAMS_FUNCTION): a substring term under 3 characters, matched at word
    starts, which no trigram serves."""
    return Index(
        f"vql_{table}_{field}_word_starts",
        table,
        f"gin (connectra_word_start_grams(vql_{field}_folded))",
    )


INDEXES: tuple[Index, ...] = (
    # contacts: text (one trigram GIN and one CJK-rows index per field), keywords, sorts
    # and keyset paging
    *(_trigram("contacts", field) for field in TEXT_FIELDS["contacts"]),
    *(_cjk_rows("contacts", field) for field in TEXT_FIELDS["contacts"]),
    *(
        Index(f"vql_contacts_{col}_lower", "contacts", f"btree (lower({col}))")
        for col in ("title", "seniority", "email_status", "city", "state", "country")
    ),
    Index("vql_contacts_departments_any", "contacts", "gin (connectra_lower_array(departments))"),
    Index("vql_contacts_created_sort", "contacts", "btree (created_at, uuid)"),
    Index("vql_contacts_updated_sort", "contacts", "btree (updated_at, uuid)"),
    # One ascending btree per sortable text or keyword field: ascending reads it forwards,
    # descending (NULLS LAST) backwards in two parts (vql/sql.py `_nulls_apart_rows`).
    *(
        Index(f"vql_contacts_{col}_sort", "contacts", f'btree (({col} COLLATE "C"), uuid)')
        for col in CONTACT_TEXT_SORTS
    ),
    # A country's rows in city (state) order: pages filtered on one country and sorted by
    # a key that lies within a country (vql/sql.py `window_parts`).
    *(
        Index(
            f"vql_contacts_country_{col}_sort",
            "contacts",
            f'btree (lower(country), ({col} COLLATE "C"), uuid)',
        )
        for col in COUNTRY_SCOPED_CONTACT_SORTS
    ),
    # companies
    *(_trigram("companies", field) for field in TEXT_FIELDS["companies"]),
    *(_cjk_rows("companies", field) for field in TEXT_FIELDS["companies"]),
    *(_word_starts("companies", field) for field in WORD_START_INDEXED_COMPANY_FIELDS),
    *(
        Index(f"vql_companies_{col}_lower", "companies", f"btree (lower({col}))")
        for col in ("name", "city", "state", "country")
    ),
    *(
        Index(f"vql_companies_{col}_any", "companies", f"gin (connectra_lower_array({col}))")
        for col in ("industries", "keywords", "technologies")
    ),
    Index("vql_companies_name_sort", "companies", 'btree ((name COLLATE "C"), uuid)'),
    # Read forwards and backwards (vql/sql.py): companies by these keys, and contacts
    # sorted by their company's (`walks_companies`).
    *(
        Index(f"vql_companies_{col}_sort", "companies", f'btree (({col} COLLATE "C"), uuid)')
        for col in ("normalized_domain", *FEW_VALUED_COMPANY_SORTS)
    ),
    Index(
        "vql_companies_name_desc_sort",
        "companies",
        'btree ((name COLLATE "C") DESC NULLS LAST, uuid DESC)',
    ),
    *(
        Index(f"vql_companies_{col}_sort", "companies", f"btree ({col}, uuid)")
        for col in (
            "employees_count",
            "annual_revenue",
            "total_funding",
            "created_at",
            "updated_at",
        )
    ),
    *(
        Index(
            f"vql_companies_{col}_desc_sort",
            "companies",
            f"btree ({col} DESC NULLS LAST, uuid DESC)",
        )
        for col in ("employees_count", "annual_revenue", "total_funding")
    ),
)


def indexes_named(*names: str) -> list[Index]:
    """The set's indexes of these names (a migration adding some of them builds these)."""
    found = [index for index in INDEXES if index.name in names]
    assert len(found) == len(names), f"not in the set: {set(names) - {i.name for i in found}}"
    return found


def create_in_migration(
    execute: Callable[[str], object], indexes: list[Index], backend: str
) -> None:
    """A migration adding some of the set's indexes (`execute`: alembic's op.execute).
    Built in the migration's transaction, not concurrently, and only where the PostgreSQL
    engine searches: on a large live table run `connectra search-structures --apply`
    first (CREATE INDEX CONCURRENTLY)."""
    if backend != "postgres":
        return
    for index in indexes:
        execute(index.create(concurrently=False))


def drop_in_migration(execute: Callable[[str], object], indexes: list[Index]) -> None:
    """That migration's downgrade."""
    for index in indexes:
        execute(index.drop(concurrently=False))


# Expression statistics: the planner ignores those of partial expression indexes, and
# without them every `lower(col) = …` is estimated at the default 0.5 %.
STATISTICS: tuple[tuple[str, str, str], ...] = (
    *(
        (f"vql_contacts_{col}_lower_stats", "contacts", f"lower({col})")
        for col in ("title", "seniority", "email_status", "city", "state", "country")
    ),
    ("vql_contacts_departments_any_stats", "contacts", "connectra_lower_array(departments)"),
    *(
        (f"vql_companies_{col}_lower_stats", "companies", f"lower({col})")
        for col in ("name", "city", "state", "country")
    ),
    *(
        (f"vql_companies_{col}_any_stats", "companies", f"connectra_lower_array({col})")
        for col in ("industries", "keywords", "technologies")
    ),
)


def search_columns(table: str) -> list[tuple[str, str, str, str]]:
    """(column, type, function, field) of each search column of `table`."""
    return [
        (f"vql_{field}_{kind}", kind_type, function, field)
        for field in TEXT_FIELDS[table]
        for kind, (kind_type, function) in COLUMN_KINDS.items()
    ]


def _trigger_function(table: str) -> str:
    assignments = "\n".join(
        f"    NEW.{name} := public.{function}(NEW.{field});"
        for name, _type, function, field in search_columns(table)
    )
    return (
        f"CREATE OR REPLACE FUNCTION connectra_{table}_search_columns() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS $$\nBEGIN\n{assignments}\n    RETURN NEW;\nEND\n$$"
    )


def _trigger(table: str) -> str:
    fields = ", ".join(TEXT_FIELDS[table])
    return (
        f"CREATE OR REPLACE TRIGGER connectra_search_columns "
        f"BEFORE INSERT OR UPDATE OF {fields} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION connectra_{table}_search_columns()"
    )


def _add_columns(table: str) -> str:
    additions = ", ".join(
        f"ADD COLUMN IF NOT EXISTS {name} {kind_type}"
        for name, kind_type, _function, _field in search_columns(table)
    )
    return f"ALTER TABLE {table} {additions}"


def _drop_columns(table: str) -> str:
    drops = ", ".join(
        f"DROP COLUMN IF EXISTS {name}" for name, _t, _f, _field in search_columns(table)
    )
    return f"ALTER TABLE {table} {drops}"


# -- what is there -------------------------------------------------------------------------


def _present_indexes(conn: psycopg.Connection[Any]) -> set[str]:
    """Valid `vql_*` indexes (an interrupted concurrent build leaves an invalid one)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname LIKE 'vql\\_%' AND i.indisvalid"
    ).fetchall()
    return {_first(row) for row in rows}


def _present_columns(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT table_name || '.' || column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name IN ('contacts', 'companies') "
        "AND column_name LIKE 'vql\\_%'"
    ).fetchall()
    return {_first(row) for row in rows}


def _first(row: Any) -> str:
    return str(next(iter(row.values())) if isinstance(row, dict) else row[0])


def _wanted_columns() -> set[str]:
    return {f"{table}.{column[0]}" for table in TEXT_FIELDS for column in search_columns(table)}


def _present_triggers(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname || '.' || t.tgname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND t.tgname = 'connectra_search_columns'"
    ).fetchall()
    return {_first(row) for row in rows}


def status(conn: psycopg.Connection[Any], *, definitions: bool = False) -> dict[str, Any]:
    """Which structure set the tables carry: "postgres" (all of it), "keys" (none of it)
    or "partial" (a switch not finished, or with `definitions`, an index of the set's name
    whose definition is not the set's: run the switch again; with what the postgres set
    lacks, what it does not have and what differs). `definitions` creates temporary
    tables (`stale_indexes`): not on a read-only connection."""
    present = _present_indexes(conn) | _present_columns(conn) | _present_triggers(conn)
    wanted = (
        {index.name for index in INDEXES}
        | _wanted_columns()
        | {f"{table}.connectra_search_columns" for table in TEXT_FIELDS}
    )
    missing = sorted(wanted - present)
    extra = sorted(present - wanted)
    if not present:
        return {"set": "keys", "missing": [], "extra": [], "stale": []}
    stale = [index.name for index in stale_indexes(conn)] if definitions else []
    if not missing and not extra and not stale:
        return {"set": "postgres", "missing": [], "extra": [], "stale": []}
    return {"set": "partial", "missing": missing, "extra": extra, "stale": stale}


def stale_indexes(conn: psycopg.Connection[Any]) -> list[Index]:
    """The set's indexes present under their name with another definition (an earlier
    design: a changed predicate, column or method), compared as PostgreSQL prints them."""
    wanted = [index for index in INDEXES if index.name in _present_indexes(conn)]
    if not wanted:
        return []
    rows = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
            ([index.name for index in wanted],),
        )
        .fetchall()
    )
    actual = {name: _using(definition) for name, definition in rows}
    expected = _printed_definitions(conn, wanted)
    grams_changed = not _word_start_grams_marked(conn)
    return [
        index
        for index in wanted
        if actual[index.name] != expected[index.name]
        or (grams_changed and "connectra_word_start_grams(" in index.method)
    ]


def _word_start_grams_marked(conn: psycopg.Connection[Any]) -> bool:
    """connectra_word_start_grams's indexes were built with its body of this release."""
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p "
            "WHERE p.proname = 'connectra_word_start_grams' "
            "AND p.pronamespace = current_schema()::regnamespace"
        )
        .fetchone()
    )
    return row is not None and row[0] == WORD_START_GRAMS_MARK


def _printed_definitions(conn: psycopg.Connection[Any], indexes: list[Index]) -> dict[str, str]:
    """Each index's definition as PostgreSQL prints it (from USING on): built on an empty
    temporary copy of its table, in a transaction rolled back."""
    cursor = conn.cursor(row_factory=tuple_row)
    printed: dict[str, str] = {}
    with conn.transaction(force_rollback=True):
        for table in sorted({index.table for index in indexes}):
            cursor.execute(f"CREATE TEMP TABLE connectra_probe_{table} (LIKE {table})")
        for number, index in enumerate(indexes):
            probe = replace(
                index, name=f"connectra_probe_{number}", table=f"connectra_probe_{index.table}"
            )
            cursor.execute(probe.create(concurrently=False))
            row = cursor.execute(
                "SELECT pg_get_indexdef(%s::regclass)", (f"pg_temp.{probe.name}",)
            ).fetchone()
            assert row is not None
            printed[index.name] = _using(row[0])
    return printed


def _using(definition: str) -> str:
    """An index definition from its method on (`CREATE INDEX name ON table` cut off)."""
    return definition.split(" USING ", 1)[1]


def expected_set(backend: Backend) -> str:
    return "postgres" if backend == "postgres" else "keys"


# -- switching ---------------------------------------------------------------------------


Log = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def apply(conn: psycopg.Connection[Any], backend: Backend, log: Log = _quiet) -> dict[str, Any]:
    """Bring the tables to `backend`'s set; idempotent and online. `conn` must be in
    autocommit mode. Returns the status afterwards."""
    if not conn.autocommit:
        raise ValueError("apply needs an autocommit connection (CREATE INDEX CONCURRENTLY)")
    for name, value in MAINTENANCE_SETTINGS.items():
        conn.execute(
            sql.SQL("SELECT set_config({}, {}, false)").format(
                sql.Literal(name), sql.Literal(value)
            )
        )
    if backend == "postgres":
        _to_postgres(conn, log)
    else:
        _to_keys(conn, log)
    return status(conn, definitions=True)


def _to_postgres(conn: psycopg.Connection[Any], log: Log) -> None:
    present = _present_indexes(conn)
    _drop_unwanted_indexes(conn, present, log)
    _drop_invalid_indexes(conn, log)
    for table in TEXT_FIELDS:
        conn.execute(_add_columns(table))  # nullable, no default: no rewrite
        conn.execute(_trigger_function(table))
        conn.execute(_trigger(table))  # from here on every write fills the columns
    if _unfilled(conn):  # new columns, or an earlier run stopped while filling them
        log("filling the search columns")
        backfill(conn, log)
    conn.execute(WORD_START_GRAMS_FUNCTION)
    for index in stale_indexes(conn):
        _rebuild_online(conn, index, log)
    for index in INDEXES:
        if index.name not in present:
            log(f"creating {index.name}")
            conn.execute(index.create(concurrently=True))
    conn.execute(MARK_WORD_START_GRAMS)  # its indexes are now built with this body
    for name, table, expression in STATISTICS:
        conn.execute(f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expression}) FROM {table}")
    for table in TEXT_FIELDS:
        conn.execute(f"ANALYZE {table}")


def _rebuild_online(conn: psycopg.Connection[Any], index: Index, log: Log) -> None:
    """Build the index's new definition beside the old one, then swap them: searches keep
    an index throughout. An interrupted run leaves `<name>_next`, which the next run drops
    as not in the set, and builds again."""
    log(f"rebuilding {index.name} (its definition changed)")
    successor = replace(index, name=f"{index.name}_next")
    conn.execute(successor.drop(concurrently=True))
    conn.execute(successor.create(concurrently=True))
    conn.execute(index.drop(concurrently=True))
    conn.execute(f"ALTER INDEX {successor.name} RENAME TO {index.name}")


def _unfilled(conn: psycopg.Connection[Any]) -> bool:
    """Some row has a NULL search column for a non-NULL field (a plain scan, no function
    calls: cheaper than recomputing every value to compare)."""
    for table in TEXT_FIELDS:
        gaps = " OR ".join(
            f"({name} IS NULL AND {field} IS NOT NULL)"
            for name, _type, _function, field in search_columns(table)
        )
        row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {gaps})").fetchone()
        if row is not None and _first(row) in ("True", "true"):
            return True
    return False


def _to_keys(conn: psycopg.Connection[Any], log: Log) -> None:
    for name in sorted(_present_indexes(conn) | _invalid_indexes(conn)):
        log(f"dropping {name}")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    for name, _table, _expression in STATISTICS:
        conn.execute(f"DROP STATISTICS IF EXISTS {name}")
    for table in TEXT_FIELDS:
        conn.execute(f"DROP TRIGGER IF EXISTS connectra_search_columns ON {table}")
        conn.execute(f"DROP FUNCTION IF EXISTS connectra_{table}_search_columns()")
        conn.execute(_drop_columns(table))  # a catalogue change; space returns on rewrite


def _drop_unwanted_indexes(conn: psycopg.Connection[Any], present: set[str], log: Log) -> None:
    """Indexes of an earlier design (`vql_*` ones the set no longer lists)."""
    for name in sorted(present - {index.name for index in INDEXES}):
        log(f"dropping {name} (not in the set)")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def _invalid_indexes(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname LIKE 'vql\\_%' AND NOT i.indisvalid"
    ).fetchall()
    return {_first(row) for row in rows}


def _drop_invalid_indexes(conn: psycopg.Connection[Any], log: Log) -> None:
    """What an interrupted CREATE INDEX CONCURRENTLY left: dropped, then built again."""
    for name in sorted(_invalid_indexes(conn)):
        log(f"dropping the invalid {name} (an interrupted build)")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def backfill(conn: psycopg.Connection[Any], log: Log = _quiet) -> int:
    """Recompute every search column from connectra_fold / connectra_words, in batches of
    BACKFILL_BATCH_ROWS by uuid (each its own short transaction: writers wait for at most
    one batch). Rows already right are not rewritten. Returns the rows changed."""
    changed = 0
    for table in TEXT_FIELDS:
        columns = search_columns(table)
        assignments = ", ".join(
            f"{name} = {function}({field})" for name, _t, function, field in columns
        )
        differs = " OR ".join(
            f"{name} IS DISTINCT FROM {function}({field})" for name, _t, function, field in columns
        )
        after: Any = None
        while True:
            bound = "" if after is None else "WHERE uuid > %(after)s"
            row = conn.execute(
                f"SELECT uuid AS last FROM (SELECT uuid FROM {table} {bound} "
                f"ORDER BY uuid LIMIT {BACKFILL_BATCH_ROWS}) AS batch ORDER BY uuid DESC LIMIT 1",
                {"after": after},
            ).fetchone()
            last = None if row is None else (row["last"] if isinstance(row, dict) else row[0])
            if last is None:
                break
            lower = "" if after is None else "uuid > %(after)s AND "
            result = conn.execute(
                f"UPDATE {table} SET {assignments} WHERE {lower}uuid <= %(last)s AND ({differs})",
                {"after": after, "last": last},
            )
            changed += max(result.rowcount, 0)
            after = last
        log(f"{table}: search columns filled")
    return changed


def rebuild(conn: psycopg.Connection[Any], log: Log = _quiet) -> dict[str, Any]:
    """After connectra_fold or connectra_words changed: regenerate the trigger functions and
    recompute every search column (the trigram indexes follow their columns). A no-op on a
    keys-only database. Works inside a migration's transaction too (no CONCURRENTLY)."""
    if status(conn)["set"] == "keys":
        return status(conn)
    for table in TEXT_FIELDS:
        conn.execute(_trigger_function(table))
    backfill(conn, log)
    return status(conn)


# -- for a migration (inside its transaction: plain CREATE/DROP INDEX) ----------------------


def migration_statements(backend: Backend) -> list[str]:
    """The same switch as `apply`, as plain statements a migration runs in its transaction
    (an empty or freshly migrated database: nothing to keep online)."""
    if backend != "postgres":
        statements = [index.drop(concurrently=False) for index in INDEXES]
        statements += [f"DROP STATISTICS IF EXISTS {name}" for name, _t, _e in STATISTICS]
        for table in TEXT_FIELDS:
            statements += [
                f"DROP TRIGGER IF EXISTS connectra_search_columns ON {table}",
                f"DROP FUNCTION IF EXISTS connectra_{table}_search_columns()",
                _drop_columns(table),
            ]
        return statements
    statements = []
    for table in TEXT_FIELDS:
        statements += [_add_columns(table), _trigger_function(table), _trigger(table)]
    statements.append(WORD_START_GRAMS_FUNCTION)
    statements += [index.create(concurrently=False) for index in INDEXES]
    statements.append(MARK_WORD_START_GRAMS)
    statements += [
        f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expression}) FROM {table}"
        for name, table, expression in STATISTICS
    ]
    return statements
