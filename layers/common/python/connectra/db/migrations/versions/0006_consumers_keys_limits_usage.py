"""Consumers: the key table, the shared rate-limit windows and the daily usage meter.

Revision ID: consumers_1
Revises: hardening_1

* `api_keys`: in AWS, every API Gateway key id maps to a consumer, its plan and its
  scopes (managed by `connectra keys`; read by the API through a short TTL cache).
  Locally a key may also be registered here by the sha256 of its value.
* `rate_limit_windows`: one row per (subject, level) holding the current fixed window
  and its hit count. Every API process increments it in one statement, so the limit a
  consumer is told is the limit every process enforces together (D7).
* `consumer_usage`: metered operations (exported rows, imported bytes, aggregation
  calls) per consumer and UTC day; kept as history (a few rows a consumer a day).
"""

from alembic import op

revision = "consumers_1"
down_revision = "hardening_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_keys (
            key_id      text        PRIMARY KEY,
            key_hash    text        UNIQUE,
            name        text        NOT NULL,
            consumer    text        NOT NULL,
            plan        text        NOT NULL,
            scopes      text[]      NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz,
            CONSTRAINT api_keys_scopes_known
                CHECK (scopes <@ ARRAY['read', 'write', 'admin']::text[])
        )
        """
    )
    op.execute(
        """
        CREATE TABLE rate_limit_windows (
            subject       text        NOT NULL,
            level         text        NOT NULL,
            window_start  timestamptz NOT NULL,
            hits          integer     NOT NULL,
            PRIMARY KEY (subject, level)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE consumer_usage (
            consumer  text   NOT NULL,
            day       date   NOT NULL,
            metric    text   NOT NULL,
            amount    bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (consumer, day, metric)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS consumer_usage")
    op.execute("DROP TABLE IF EXISTS rate_limit_windows")
    op.execute("DROP TABLE IF EXISTS api_keys")
