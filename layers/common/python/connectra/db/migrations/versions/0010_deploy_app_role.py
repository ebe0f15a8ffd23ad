"""The API's and the workers' database role: DML on the tables, nothing more.

Revision ID: deploy_1
Revises: queryshapes_1

In AWS the functions log in as `connectra_app` (its own Secrets Manager secret, attached
to the RDS Proxy); only the migrate function logs in as the owner that created the
schema. The role may read and write rows, use sequences, call our SQL functions and
create temporary tables (the ingest staging tables); it cannot create, alter or drop
objects, and only reads alembic_version (the deep health check shows the revision).

Roles are cluster-wide: the role is created once (NOLOGIN) and granted per database; the
migrate function gives it LOGIN and the password of its secret (connectra.db.roles).
Objects later migrations create are covered by the default privileges of the owner.
"""

from __future__ import annotations

from alembic import op

revision = "deploy_1"
down_revision = "queryshapes_1"
branch_labels = None
depends_on = None

APP_ROLE = "connectra_app"  # connectra.db.roles.APP_ROLE (a test keeps them equal)
PRIVILEGES = (
    ("TABLES", "SELECT, INSERT, UPDATE, DELETE"),
    ("SEQUENCES", "USAGE, SELECT, UPDATE"),
    ("FUNCTIONS", "EXECUTE"),
)


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            -- Roles are cluster-wide: databases migrated at once (test workers on a fresh
            -- cluster) race to create it, and the loser's insert fails on the winner's.
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                BEGIN
                    CREATE ROLE {APP_ROLE} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;
                END;
            END IF;
            EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {APP_ROLE}',
                           current_database());
        END
        $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    for kind, privileges in PRIVILEGES:
        op.execute(f"GRANT {privileges} ON ALL {kind} IN SCHEMA public TO {APP_ROLE}")
        op.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {privileges} ON {kind} TO {APP_ROLE}"
        )
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}")


def downgrade() -> None:
    # The role stays: other databases of the cluster may still grant it privileges.
    for kind, privileges in PRIVILEGES:
        op.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE {privileges} ON {kind} "
            f"FROM {APP_ROLE}"
        )
        op.execute(f"REVOKE {privileges} ON ALL {kind} IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM {APP_ROLE}',
                           current_database());
        END
        $$
        """
    )
