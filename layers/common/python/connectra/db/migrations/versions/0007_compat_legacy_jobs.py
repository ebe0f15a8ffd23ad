"""Jobs created in the original's form (`insert_csv_file`, `export_csv_file`, `data`).

Revision ID: compat_1
Revises: consumers_1

`legacy_request` keeps the original-form request of such a job (its `job_type` and
`data`), so the job is reported back in the shape its client knows; NULL for every job
created in today's form.
"""

from alembic import op

revision = "compat_1"
down_revision = "consumers_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE jobs ADD COLUMN IF NOT EXISTS legacy_request jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE jobs DROP COLUMN IF EXISTS legacy_request")
