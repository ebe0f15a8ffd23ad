"""Short substrings of company names served by an index.

Revision ID: companies_text_1
Revises: sorts_4

A substring term under 3 characters matches where a word of the folded text begins
(vql/text.py word_start_pattern); no trigram serves it, so a term no company holds
("qz") filtered a sequential pass over every company (57-77 ms at 100k). companies.name
(models/fields.py WORD_START_INDEXED_COMPANY_FIELDS) gets a GIN on
connectra_word_start_grams(vql_name_folded), and `connectra.vql.sql` adds
`connectra_word_start_grams(folded) @> ARRAY[term]` before the exact test: a miss reads no
row. Price: +62 µs per company insert (+29 %; 20k companies into 100k, best of 6 rounds
alternating with and without it); with website and address too it was +148 µs (+69 %), so
those two keep their scan. Companies are a tenth of the contacts and written less often.

connectra_word_start_grams is `connectra.db.search_structures.WORD_START_GRAMS_FUNCTION`
(with the proof that it loses no match), created with the structure set (migration 0009
builds the current set, this index included, on a fresh database).

Only with SEARCH_BACKEND=postgres. The build runs in the migration's transaction and
blocks writes meanwhile; on a large live table run `connectra search-structures --apply`
first (CREATE INDEX CONCURRENTLY), after which this migration finds the index and does
nothing.
"""

from alembic import op

from connectra.db import search_structures
from connectra.models.fields import WORD_START_INDEXED_COMPANY_FIELDS
from connectra.settings import get_settings

revision = "companies_text_1"
down_revision = "sorts_4"
branch_labels = None
depends_on = None


def added_indexes() -> list[search_structures.Index]:
    return search_structures.indexes_named(
        *(f"vql_companies_{field}_word_starts" for field in WORD_START_INDEXED_COMPANY_FIELDS)
    )


def upgrade() -> None:
    if get_settings().search_backend == "postgres":
        op.execute(search_structures.WORD_START_GRAMS_FUNCTION)
    search_structures.create_in_migration(
        op.execute, added_indexes(), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
