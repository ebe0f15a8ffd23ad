"""Partial indexes of the rows whose folded text fields hold a CJK character.

Revision ID: cjk_1
Revises: pipeline_1

A fuzzy search missed a word written directly against a CJK character: a title `東abdc東`
holds the word `abdc` (connectra_words makes each CJK character a word of its own), one
transposition from `abcd`, yet pg_trgm reads `東abdc東` as one word, shares no trigram
with `abcd`, and the `<%` trigram prefilter dropped the row before the per-word check.
The prefilter becomes `((folded %> prefilter AND deleted_at IS NULL) OR folded ~ '<CJK
class>')`; each text field gets a btree `(uuid)` partial on that second condition (deleted
rows included: the OR is then exactly the bitmap's condition, checked once), so the
planner serves the OR with a BitmapOr of the trigram GIN and this small index
(`connectra.db.search_structures` defines them, `connectra.vql.fuzzy_sql` the condition).

Only with SEARCH_BACKEND=postgres. The builds run in the migration's transaction and block
writes meanwhile (one scan per field); on a large live table run `connectra
search-structures --apply` first (CREATE INDEX CONCURRENTLY), after which this migration
finds the indexes and does nothing.
"""

from alembic import op

from connectra.db import search_structures
from connectra.settings import get_settings

revision = "cjk_1"
down_revision = "pipeline_1"
branch_labels = None
depends_on = None


def added_indexes() -> list[search_structures.Index]:
    return search_structures.indexes_named(
        *(
            f"vql_{table}_{field}_cjk"
            for table, fields in search_structures.TEXT_FIELDS.items()
            for field in fields
        )
    )


def upgrade() -> None:
    search_structures.create_in_migration(
        op.execute, added_indexes(), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
