"""Short substrings of company names served by an index; the fuzzy prefilter's fallback
rows widened to the letters pg_trgm joins.

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

The fuzzy trigram prefilter ORs in the rows it cannot vouch for, through one partial
btree per text field (0021's `vql_<table>_<field>_cjk`). Besides CJK text, pg_trgm's
words and connectra's also part at the negative circled and squared letters
U+1F150-1F189, which pg_trgm joins (`🅰cax` lost its fuzzy match `cax` for `cat`), and at
some 1,200 word characters it cuts at (models/char_classes.py JOINED_LETTER_RANGES,
SPLIT_LETTER_RANGES). The indexes' predicate now holds those too: they are dropped and
built again.

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


def fallback_indexes() -> list[search_structures.Index]:
    return search_structures.indexes_named(
        *(
            f"vql_{table}_{field}_cjk"
            for table, fields in search_structures.TEXT_FIELDS.items()
            for field in fields
        )
    )


def upgrade() -> None:
    backend = get_settings().search_backend
    if backend == "postgres":
        op.execute(search_structures.WORD_START_GRAMS_FUNCTION)
        # IF NOT EXISTS would keep the narrower predicate: built again.
        search_structures.drop_in_migration(op.execute, fallback_indexes())
    search_structures.create_in_migration(
        op.execute, [*added_indexes(), *fallback_indexes()], backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
