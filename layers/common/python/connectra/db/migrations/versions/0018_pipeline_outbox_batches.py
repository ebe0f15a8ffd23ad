"""The search outbox's batch entries: one row per imported batch instead of one per record.

Revision ID: pipeline_1
Revises: sorts_3

An import's SQL path queued every record it wrote as its own `search_outbox` row (a heap
row and two index entries each: about 12 % of a chunk's time in a profile). A batch now
queues one `search_outbox_batches` row holding its records' uuids, in the same
transaction as the rows. The drain (search/indexing.py) indexes a batch entry's records
and deletes it in one transaction; the records OpenSearch did not acknowledge become
ordinary `search_outbox` rows (retried with back-off, or parked) in that transaction.
"""

from alembic import op

revision = "pipeline_1"
down_revision = "sorts_3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS search_outbox_batches (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            entity       text NOT NULL CHECK (entity IN ('contacts', 'companies')),
            record_uuids uuid[] NOT NULL,
            enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )


def downgrade() -> None:
    # The pending entries become per-record rows first: no queued change is lost.
    op.execute(
        "INSERT INTO search_outbox (entity, record_uuid, operation) "
        "SELECT DISTINCT b.entity, u.id, 'upsert' FROM search_outbox_batches b, "
        "unnest(b.record_uuids) AS u(id) ON CONFLICT (entity, record_uuid) DO UPDATE "
        "SET operation = 'upsert', enqueued_at = clock_timestamp(), attempts = 0, "
        "next_attempt_at = now(), last_error = NULL"
    )
    op.execute("DROP TABLE IF EXISTS search_outbox_batches")
