"""The import key ledger without its foreign key to jobs.

Revision ID: writepath_2
Revises: writepath_1

Every imported row records its key in `import_keys` (migration 0003). The foreign key to
`jobs` made each of those inserts run a referential check (a `SELECT … FOR KEY SHARE` of
the same jobs row, once per row): about a third of the ledger statement's time in a
profile of the SQL import path. It protected nothing the code relies on: ledger rows are
written only by a job's own chunks, which lock their `job_chunks` row (itself referencing
the job) first, and Finalize deletes a job's ledger; no code path deletes jobs. A job
deleted by hand leaves its ledger rows behind, unread (every lookup is by job id).
"""

from alembic import op

revision = "writepath_2"
down_revision = "writepath_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE import_keys DROP CONSTRAINT IF EXISTS import_keys_job_id_fkey")


def downgrade() -> None:
    op.execute(
        "DELETE FROM import_keys k WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.uuid = k.job_id)"
    )
    op.execute(
        "ALTER TABLE import_keys ADD CONSTRAINT import_keys_job_id_fkey "
        "FOREIGN KEY (job_id) REFERENCES jobs (uuid) ON DELETE CASCADE"
    )
