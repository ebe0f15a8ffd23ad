"""Search structures per backend, and the leaner PostgreSQL set.

Revision ID: queryshapes_1
Revises: unicode_1

The set is defined once in `connectra.db.search_structures` (this migration, the online
switch `connectra search-structures` and /health all read it):

* The search columns of 0004 stay, with their values, but are no longer GENERATED
  (`DROP EXPRESSION` keeps the data, no rewrite): a trigger computes them from
  connectra_fold / connectra_words instead, so the switch can add them to a live table
  without the exclusive lock of a table rewrite.
* The word GIN indexes are dropped: word and phrase matches are prefiltered by the trigram
  GIN of the field (each term, or the phrase in order, is a substring of the folded
  text) and rechecked on the stored words. One GIN per text field instead of two.
* The partial btree on contacts.company_id is dropped: the foreign key's index serves it.
* With SEARCH_BACKEND=opensearch the whole set is dropped: the tables keep only their
  keys (primary key, natural-key uniques, foreign keys).
"""

import importlib

from alembic import op

from connectra.db import search_structures
from connectra.settings import get_settings

revision = "queryshapes_1"
down_revision = "unicode_1"
branch_labels = None
depends_on = None

# Indexes of 0002/0004 the set no longer has: the word GINs, and the partial company_id
# btree (the foreign key's own index serves the same lookups).
RETIRED_INDEXES = (
    "vql_contacts_company_live",
    "vql_contacts_title_words_gin",
    "vql_contacts_first_name_words_gin",
    "vql_contacts_last_name_words_gin",
    "vql_companies_name_words_gin",
)


def _generated_columns() -> list[tuple[str, str]]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name IN ('contacts', 'companies') "
        "AND column_name LIKE 'vql%%' AND is_generated = 'ALWAYS'"
    )
    return [(row[0], row[1]) for row in rows]


def upgrade() -> None:
    for name in RETIRED_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table, column in _generated_columns():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP EXPRESSION")
    for statement in search_structures.migration_statements(get_settings().search_backend):
        op.execute(statement)


def downgrade() -> None:
    # Back to 0004's set: generated columns (recomputed by the rewrite) and the word indexes.
    for statement in search_structures.migration_statements("opensearch"):
        op.execute(statement)
    importlib.import_module("connectra.db.migrations.versions.0004_search_columns").upgrade()
    op.execute(
        "CREATE INDEX IF NOT EXISTS vql_contacts_company_live ON contacts "
        "USING btree (company_id) WHERE deleted_at IS NULL"
    )
