"""Ingest in SQL: uuid-ossp's uuid_generate_v5 and the list-cell splitter of the import path.

Revision ID: writepath_1
Revises: deploy_1

The chunk worker COPYs well-formed CSV records raw into a temporary table and converts
them in SQL (connectra/ingest/staged.py). Two things it needs from the database:

* `uuid_generate_v5` (contrib uuid-ossp, a trusted extension, available on RDS): record
  ids are uuid5 of the natural key, exactly as models/identity.py computes them;
* `connectra_ingest_tags(text)`: a list cell (`Sales; Marketing`) as the record models
  clean it (models/records.py `_split_list` + `_clean_tags`): split on `;` when the cell
  holds one, else on `,`; each part trimmed; blanks dropped; case-insensitive duplicates
  dropped (the first spelling is kept). The SQL path only hands
  it cells of printable ASCII, where `btrim` and `lower` agree with Python's.
"""

from alembic import op

revision = "writepath_1"
down_revision = "deploy_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
    op.execute(
        """
        CREATE OR REPLACE FUNCTION connectra_ingest_tags(cell text) RETURNS text[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(tag.spelling ORDER BY tag.first_place), '{}')
            FROM (
                SELECT min(part.place) AS first_place,
                       (array_agg(btrim(part.item) ORDER BY part.place))[1] AS spelling
                FROM unnest(string_to_array(
                         cell, CASE WHEN strpos(cell, ';') > 0 THEN ';' ELSE ',' END
                     )) WITH ORDINALITY AS part(item, place)
                WHERE btrim(part.item) <> ''
                GROUP BY lower(btrim(part.item))
            ) AS tag
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS connectra_ingest_tags(text)")
    # uuid-ossp stays: other objects may use it, and keeping an extension is harmless.
