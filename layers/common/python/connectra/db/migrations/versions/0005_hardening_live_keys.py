"""Only live records claim an email or a domain (issue 11 D9).

Revision ID: hardening_1
Revises: 0004

A soft-deleted contact kept its email in the unique index, so a new contact with that
email was a 409 although no live record had it. The unique indexes now cover live records
only; a deleted record keeps its values (an upsert by the same uuid still revives it).
"""

from __future__ import annotations

from alembic import op

revision = "hardening_1"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS contacts_email_key")
    op.execute(
        "CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email)) "
        "WHERE email IS NOT NULL AND deleted_at IS NULL"
    )
    op.execute("DROP INDEX IF EXISTS companies_normalized_domain_key")
    op.execute(
        "CREATE UNIQUE INDEX companies_normalized_domain_key ON companies (normalized_domain) "
        "WHERE normalized_domain IS NOT NULL AND deleted_at IS NULL"
    )


def downgrade() -> None:
    # Fails if a deleted and a live record now share a key: resolve those first.
    op.execute("DROP INDEX IF EXISTS contacts_email_key")
    op.execute(
        "CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email)) WHERE email IS NOT NULL"
    )
    op.execute("DROP INDEX IF EXISTS companies_normalized_domain_key")
    op.execute(
        "CREATE UNIQUE INDEX companies_normalized_domain_key ON companies (normalized_domain) "
        "WHERE normalized_domain IS NOT NULL"
    )
