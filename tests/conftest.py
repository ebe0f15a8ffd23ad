"""Shared fixtures: a fresh PostgreSQL database per test session (real server, migrated)."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))

# Never reach a real AWS account from the tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Connectra")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
# Answers must reflect each test's writes: no result cache (tests that check it build one).
os.environ.setdefault("RESULT_CACHE_TTL_SECONDS", "0")

from connectra.db import migrate  # noqa: E402
from connectra.db.pool import close_pool  # noqa: E402
from connectra.local import postgres  # noqa: E402
from connectra.settings import get_settings  # noqa: E402

DATA_TABLES = (
    "search_outbox",
    "search_outbox_batches",
    "job_row_errors",
    "job_chunks",
    "jobs",
    "import_keys",  # no foreign key to jobs (migration 0012): TRUNCATE jobs no longer cascades
    "filters_data",
    "api_keys",
    "rate_limit_windows",
    "consumer_usage",
    "contacts",
    "companies",
)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new database on DATABASE_URL's server (or the private cluster), migrated to head."""
    server = postgres.server_url()
    name = f"connectra_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = postgres.with_database(server, name)
    postgres.ensure_database(url)
    migrate.upgrade(url)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    close_pool()
    try:
        yield url
    finally:
        close_pool()
        get_settings.cache_clear()
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        with psycopg.connect(postgres.with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clean_db(database_url: str) -> Iterator[str]:
    """The session database with every data table emptied before the test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
    yield database_url


@pytest.fixture
def conn(clean_db: str) -> Iterator[psycopg.Connection[Any]]:
    from psycopg.rows import dict_row

    with psycopg.connect(clean_db, row_factory=dict_row) as connection:
        yield connection


@contextmanager
def s3_settings(bucket: str, endpoint: str | None) -> Iterator[None]:
    """Point settings, the store cache and the pool at `bucket` (and `endpoint`), then restore."""
    from connectra.storage.s3 import get_store

    previous = {name: os.environ.get(name) for name in ("S3_BUCKET", "S3_ENDPOINT_URL")}
    os.environ["S3_BUCKET"] = bucket
    if endpoint is None:
        os.environ.pop("S3_ENDPOINT_URL", None)
    else:
        os.environ["S3_ENDPOINT_URL"] = endpoint
    get_settings.cache_clear()
    get_store.cache_clear()
    close_pool()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        get_store.cache_clear()
        close_pool()


@contextmanager
def mocked_s3(bucket: str) -> Iterator[Any]:
    """In-process moto S3 holding `bucket`; settings and the store cache point to it."""
    with s3_settings(bucket, None), mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        yield client


@contextmanager
def moto_http_server(bucket: str) -> Iterator[str]:
    """A real HTTP S3 (moto server) holding `bucket`, reachable from worker processes."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        with s3_settings(bucket, endpoint):
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
                Bucket=bucket
            )
            yield endpoint
    finally:
        server.stop()


class FakeLambdaContext:
    function_name = "connectra-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:connectra-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/connectra-test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def events_dir() -> Path:
    return ROOT / "events"
