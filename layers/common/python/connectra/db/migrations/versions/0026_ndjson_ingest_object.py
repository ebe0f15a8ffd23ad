"""Ingest in SQL, NDJSON: a raw line as a JSON object, or NULL when PostgreSQL cannot read it.

Revision ID: ndjson_1
Revises: companies_text_1

The chunk worker COPYs a contacts NDJSON file's lines raw into a temporary table and
converts them in SQL (connectra/ingest/staged_ndjson.py). PostgreSQL 15 has no soft JSON
check (`IS JSON` and `pg_input_is_valid` came in 16), and a failing `::jsonb` cast would
fail the whole batch's statement, so one bad line would send its batch to Python:
`connectra_ingest_object(text)` returns the line as jsonb when it is a JSON object, NULL
when it is anything else or PostgreSQL refuses it (bad syntax, `\\u0000`, a lone
surrogate, a number numeric cannot hold, nesting beyond the stack). The SQL path hands
those lines to the Python parser. Its exception block is a subtransaction a line (on
440-byte lines 4.6-5.5 µs against 3-4 µs for the bare cast), so the SQL path casts first
and reads a batch through this function only once the cast failed on one of its lines.
"""

from alembic import op

revision = "ndjson_1"
down_revision = "companies_text_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION connectra_ingest_object(line text) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
        DECLARE
            document jsonb;
        BEGIN
            document := line::jsonb;
            RETURN CASE WHEN jsonb_typeof(document) = 'object' THEN document END;
        EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS connectra_ingest_object(text)")
