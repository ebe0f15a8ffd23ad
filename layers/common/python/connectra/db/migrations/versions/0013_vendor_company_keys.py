"""The company ledger of an import: combined contact-and-company rows (ingest/combined.py).

Revision ID: vendor_1
Revises: writepath_2

Contacts files may carry their company's columns; chunks load in parallel and several
may name the same company. `import_company_keys` keeps, per job and company, the latest
row seen so far (its file position and values: the file's last row wins whatever order
chunks run in, written once the file is read) and whether this job created the company
(the job's company counts). Rows are deleted when the job finishes, like `import_keys`.
"""

from alembic import op

revision = "vendor_1"
down_revision = "writepath_2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE import_company_keys (
            job_id       uuid    NOT NULL REFERENCES jobs (uuid) ON DELETE CASCADE,
            record_uuid  uuid    NOT NULL,
            position     bigint  NOT NULL,
            created      boolean NOT NULL DEFAULT false,
            company      jsonb   NOT NULL DEFAULT '{}',
            PRIMARY KEY (job_id, record_uuid)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS import_company_keys")
