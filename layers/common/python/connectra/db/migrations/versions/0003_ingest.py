"""Ingest: the per-job key ledger that makes "last row wins" exact across parallel chunks.

Revision ID: 0003
Revises: 0002

Chunks of one file load in parallel, so two rows with the same natural key in different
chunks would otherwise be applied in whatever order the chunks commit. Every loaded row
first records (job, record uuid, byte offset of the row in the file) here; a row is
applied only when its offset is the highest seen for that key, and a key seen before
counts as a duplicate. The row lock taken by the upsert of the ledger entry orders the
chunks that share a key. Finalize deletes a completed job's ledger.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE import_keys (
            job_id       uuid   NOT NULL REFERENCES jobs (uuid) ON DELETE CASCADE,
            record_uuid  uuid   NOT NULL,
            position     bigint NOT NULL,
            PRIMARY KEY (job_id, record_uuid)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS import_keys")
