"""A sort index for companies' normalized domain.

Revision ID: sorts_2
Revises: sorts_1

Companies sorted by domain, and contacts sorted by their company's domain (the PostgreSQL
engine walks the companies in that order, `connectra.vql.sql.walks_companies`), had no
index: every page sorted the companies (100k: ~150 ms) or the matching contacts. The
unique index on the domain is in the database's collation and partial on NOT NULL; the
sort compares in "C" and keeps NULLs last, so this is one more btree
`(normalized_domain COLLATE "C", uuid) WHERE deleted_at IS NULL`, read both ways.

Only with SEARCH_BACKEND=postgres, as sorts_1 (on a large live table run `connectra
search-structures --apply` first: CREATE INDEX CONCURRENTLY).
"""

from alembic import op

from connectra.db import search_structures
from connectra.settings import get_settings

revision = "sorts_2"
down_revision = "sorts_1"
branch_labels = None
depends_on = None

ADDED = "vql_companies_normalized_domain_sort"


def upgrade() -> None:
    search_structures.create_in_migration(
        op.execute, search_structures.indexes_named(ADDED), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, search_structures.indexes_named(ADDED))
