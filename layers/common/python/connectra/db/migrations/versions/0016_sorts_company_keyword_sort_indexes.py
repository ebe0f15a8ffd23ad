"""Sort indexes for companies' city, state and country.

Revision ID: sorts_3
Revises: sorts_2

Contacts sorted by their company's city, state or country (a few dozen values, thousands
of companies each) are paged one value at a time: the first value comes from this index,
then the contacts are walked by uuid (`connectra.vql.sql._GROUP_PROBE`). Without it each
page sorted the 100k companies for the first value (~50 ms) or all the matching contacts
(~0.4 s at 1M). Companies sorted by these keys use them too. One btree each
`(col COLLATE "C", uuid) WHERE deleted_at IS NULL`, read both ways.

Only with SEARCH_BACKEND=postgres, as sorts_1 (on a large live table run `connectra
search-structures --apply` first: CREATE INDEX CONCURRENTLY).
"""

from alembic import op

from connectra.db import search_structures
from connectra.models.fields import FEW_VALUED_COMPANY_SORTS
from connectra.settings import get_settings

revision = "sorts_3"
down_revision = "sorts_2"
branch_labels = None
depends_on = None


def added_indexes() -> list[search_structures.Index]:
    names = (f"vql_companies_{column}_sort" for column in FEW_VALUED_COMPANY_SORTS)
    return search_structures.indexes_named(*names)


def upgrade() -> None:
    search_structures.create_in_migration(
        op.execute, added_indexes(), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
