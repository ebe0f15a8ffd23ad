"""Contacts' city and state sort indexes scoped by country.

Revision ID: sorts_4
Revises: cjk_1

A page filtered on one country and sorted by city or state probed the `(key, uuid)` sort
index from its start, where the other countries' cities come first (Amsterdam, Austin,
Bengaluru: 150k rows before Berlin), then sorted every match (100k for Germany: 110-300
ms at 1M). A city or state lies in one country, so no window of the global order helps.
One btree each `(lower(country), key COLLATE "C", uuid) WHERE deleted_at IS NULL`: the
country's rows in key order, read both ways (`connectra.vql.sql` adds the country to the
probe's window conditions). Price: bench/sort_write_cost.py --migration 0022.

Only with SEARCH_BACKEND=postgres, as sorts_1 (on a large live table run `connectra
search-structures --apply` first: CREATE INDEX CONCURRENTLY).
"""

from alembic import op

from connectra.db import search_structures
from connectra.models.fields import COUNTRY_SCOPED_CONTACT_SORTS
from connectra.settings import get_settings

revision = "sorts_4"
down_revision = "cjk_1"
branch_labels = None
depends_on = None


def added_indexes() -> list[search_structures.Index]:
    names = (f"vql_contacts_country_{column}_sort" for column in COUNTRY_SCOPED_CONTACT_SORTS)
    return search_structures.indexes_named(*names)


def upgrade() -> None:
    search_structures.create_in_migration(
        op.execute, added_indexes(), get_settings().search_backend
    )


def downgrade() -> None:
    search_structures.drop_in_migration(op.execute, added_indexes())
