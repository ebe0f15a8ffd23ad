"""Search columns: folded text and word arrays stored, statistics the planner can use.

Revision ID: 0004
Revises: 0003

Why (EXPLAIN ANALYZE over 1M contacts, see bench/search.py):

* Stored generated columns `vql_<col>_folded` (connectra_fold) and `vql_<col>_words`
  (connectra_words) for every text field. 0002 indexed the expressions, but any row the
  planner reads outside those indexes (a sort-index walk filtering rows, a phrase or fuzzy
  recheck, a keyword group next to a text one) recomputed unaccent + regexp split per row
  (10-35 µs); a stored column costs a field read. The columns are computed from the same
  IMMUTABLE functions, so the semantics are the functions' (vql/sql.py reads the columns).
  If connectra_fold or connectra_words ever changes, a migration must rewrite the columns
  (`UPDATE … SET col = col` recomputes them).
* The GIN trigram and word indexes move from the expressions to the columns (0002's
  expression indexes are dropped: same keys, no second copy to maintain on writes).
* Descending btree indexes for the nullable company sort keys (employees_count, …):
  "largest first" is NULLS LAST, which the ascending indexes of 0002 cannot serve.
* Statistics: the planner ignores the statistics of PARTIAL expression indexes (all of
  ours are `WHERE deleted_at IS NULL`), so every `lower(col) = …` and
  `connectra_lower_array(col) && …` was estimated at the default 0.5 %, and the planner
  sorted 500k rows where a walk of 200 would do. Plain columns get real statistics (with
  most-common elements for the word arrays); the keyword expressions get expression
  statistics (CREATE STATISTICS, PostgreSQL 14+).

Write cost: each insert or update computes the folded text and words once per text field
(before: once per expression index, the same work) and stores them (about 90 bytes a
contact); measured in bench/results/search.md.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE = "WHERE deleted_at IS NULL"

TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("first_name", "last_name", "email", "title"),
    "companies": ("name", "website", "address"),
}

# 0002 expression indexes superseded by the column indexes below: (name, table, USING …).
REPLACED: list[tuple[str, str, str]] = [
    *(
        (f"vql_contacts_{col}_trgm", "contacts", f"gin (connectra_fold({col}) gin_trgm_ops)")
        for col in ("title", "first_name", "last_name", "email")
    ),
    *(
        (f"vql_contacts_{col}_words", "contacts", f"gin (connectra_words({col}))")
        for col in ("title", "first_name", "last_name")
    ),
    *(
        (f"vql_companies_{col}_trgm", "companies", f"gin (connectra_fold({col}) gin_trgm_ops)")
        for col in ("name", "website", "address")
    ),
    ("vql_companies_name_words", "companies", "gin (connectra_words(name))"),
]

INDEXES: list[tuple[str, str, str]] = [
    *(
        (f"vql_contacts_{col}_folded_trgm", "contacts", f"gin (vql_{col}_folded gin_trgm_ops)")
        for col in ("title", "first_name", "last_name", "email")
    ),
    *(
        (f"vql_contacts_{col}_words_gin", "contacts", f"gin (vql_{col}_words)")
        for col in ("title", "first_name", "last_name")
    ),
    *(
        (f"vql_companies_{col}_folded_trgm", "companies", f"gin (vql_{col}_folded gin_trgm_ops)")
        for col in ("name", "website", "address")
    ),
    ("vql_companies_name_words_gin", "companies", "gin (vql_name_words)"),
    # Descending sorts of nullable company keys ("largest first"): NULLS LAST, which a
    # backward scan of the ascending (col, uuid) index cannot give.
    (
        "vql_companies_name_desc_sort",
        "companies",
        'btree ((name COLLATE "C") DESC NULLS LAST, uuid DESC)',
    ),
    *(
        (f"vql_companies_{col}_desc_sort", "companies", f"btree ({col} DESC NULLS LAST, uuid DESC)")
        for col in ("employees_count", "annual_revenue", "total_funding")
    ),
]

# Expression statistics for the keyword expressions (their indexes are partial).
STATISTICS: list[tuple[str, str, str]] = [
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
]


def column_statements() -> list[str]:
    """One ALTER TABLE per table: a single rewrite computes every generated column."""
    statements = []
    for table, columns in TEXT_COLUMNS.items():
        additions = []
        for col in columns:
            additions.append(
                f"ADD COLUMN IF NOT EXISTS vql_{col}_folded text "
                f"GENERATED ALWAYS AS (connectra_fold({col})) STORED"
            )
            additions.append(
                f"ADD COLUMN IF NOT EXISTS vql_{col}_words text[] "
                f"GENERATED ALWAYS AS (connectra_words({col})) STORED"
            )
        statements.append(f"ALTER TABLE {table} " + ", ".join(additions))
    return statements


def index_statements() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression} {LIVE}"
        for name, table, expression in INDEXES
    ]


def statistics_statements() -> list[str]:
    return [
        f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expression}) FROM {table}"
        for name, table, expression in STATISTICS
    ]


def upgrade() -> None:
    for name, _table, _expression in REPLACED:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for statement in column_statements():
        op.execute(statement)
    for statement in index_statements():
        op.execute(statement)
    for statement in statistics_statements():
        op.execute(statement)
    op.execute("ANALYZE contacts")
    op.execute("ANALYZE companies")


def downgrade() -> None:
    for name, _table, _expression in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
    for name, _table, _expression in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table, columns in TEXT_COLUMNS.items():
        drops = ", ".join(
            f"DROP COLUMN IF EXISTS vql_{col}_{kind}"
            for col in columns
            for kind in ("folded", "words")
        )
        op.execute(f"ALTER TABLE {table} {drops}")
    for name, table, expression in REPLACED:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression} {LIVE}")
