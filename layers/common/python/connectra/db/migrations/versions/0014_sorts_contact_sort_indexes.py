"""Sort indexes for every sortable text and keyword field of contacts.

Revision ID: sorts_1
Revises: vendor_1

Sorting contacts by email, title, seniority, email_status, city, state or country had no
index: a page over a common filter (10 % of 1M contacts) sorted 100k rows, 0.4-2 s. Each
field gets one btree `(col COLLATE "C", uuid) WHERE deleted_at IS NULL`, like first_name
and last_name already have (`connectra.db.search_structures` defines them; the
PostgreSQL engine's probe walks them). One index serves both directions: DESC NULLS LAST
is read backwards in two parts (the non-NULL values, then the NULL rows), see
`connectra.vql.sql._nulls_apart_rows`, so no second, descending index per field.

Only with SEARCH_BACKEND=postgres (OpenSearch tables carry only their keys). The builds
run in the migration's transaction and block writes to contacts meanwhile; on a large live
table run `connectra search-structures --apply` first (CREATE INDEX CONCURRENTLY), after
which this migration finds the indexes and does nothing.
"""

from alembic import op

from connectra.db import search_structures
from connectra.settings import get_settings

revision = "sorts_1"
down_revision = "vendor_1"
branch_labels = None
depends_on = None

NEW_SORT_FIELDS = ("email", "title", "seniority", "email_status", "city", "state", "country")


def added_indexes() -> list[search_structures.Index]:
    return search_structures.indexes_named(*(f"vql_contacts_{f}_sort" for f in NEW_SORT_FIELDS))


def upgrade() -> None:
    search_structures.create_in_migration(
        op.execute, added_indexes(), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
