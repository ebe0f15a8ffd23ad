"""The API's and workers' database role (migration deploy_1): rows yes, schema no.

The state-machine and permission tests run every function as this role; these check its
limits directly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from connectra.db.roles import APP_ROLE, enable_login


def as_app_role(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        enable_login(conn, APP_ROLE, "app-role-password")
    url = urlparse(database_url)
    netloc = f"{APP_ROLE}:app-role-password@{url.hostname}:{url.port}"
    return urlunparse(url._replace(netloc=netloc))


def test_the_app_role_reads_and_writes_rows(clean_db: str) -> None:
    with psycopg.connect(as_app_role(clean_db)) as conn:
        conn.execute("INSERT INTO companies (uuid, name) VALUES (gen_random_uuid(), 'Acme')")
        conn.execute("UPDATE companies SET name = 'Acme Inc' WHERE name = 'Acme'")
        row = conn.execute("SELECT count(*) FROM companies").fetchone()
        conn.execute("CREATE TEMP TABLE staging (LIKE companies)")  # ingest staging tables
        conn.execute("DELETE FROM companies")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()

    assert row == (1,)
    assert revision is not None


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE companies ADD COLUMN intruder int",
        "DROP TABLE job_row_errors",
        "UPDATE alembic_version SET version_num = 'x'",
        "TRUNCATE companies",
    ],
)
def test_the_app_role_cannot_change_the_schema(clean_db: str, statement: str) -> None:
    with (
        psycopg.connect(as_app_role(clean_db)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def test_only_the_app_role_gets_a_login(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn, pytest.raises(ValueError):
        enable_login(conn, "postgres", "x")


def test_the_migrate_handler_sets_the_app_roles_password_from_its_secret(
    database_url: str, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    from moto import mock_aws

    from connectra import runtime_secrets
    from connectra.settings import get_settings
    from tests.integration.test_api_handler import load_handler

    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="app", SecretString='{"username": "connectra_app", "password": "rotated"}'
        )["ARN"]
        monkeypatch.setenv("DB_APP_SECRET_ARN", arn)
        get_settings.cache_clear()
        runtime_secrets.clear_cache()
        try:
            result = load_handler("functions/migrate/handler.py").handler({}, lambda_context)
        finally:
            get_settings.cache_clear()
            runtime_secrets.clear_cache()

    assert result["app_role"] == APP_ROLE
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (APP_ROLE,)
        ).fetchone()
    assert row == (True,)
