"""All configuration, typed, read once from the environment (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
GIB = 1024 * MIB

DEV_API_KEY = "connectra-dev-key"


class Settings(BaseSettings):
    """One place for every knob; names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: str = "local"

    # PostgreSQL: a URL locally, or a Secrets Manager secret + RDS Proxy host in AWS.
    database_url: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "connectra"
    db_sslmode: str = "prefer"
    db_pool_min_size: int = 0
    db_pool_max_size: int = 4
    db_statement_timeout_ms: int = 30_000

    # Search
    search_backend: Literal["postgres", "opensearch"] = "postgres"
    opensearch_url: str | None = None
    opensearch_auth: Literal["none", "basic", "sigv4"] = "none"
    opensearch_username: str | None = None
    opensearch_password: str | None = None
    opensearch_index_prefix: str = "connectra"
    opensearch_bulk_max_bytes: int = 8 * MIB
    cursor_secret: str = "connectra-dev-cursor-secret"  # HMAC key of search_after cursors
    cursor_secret_arn: str | None = None  # in AWS: the secret holding that key

    # AWS / S3
    aws_region: str = "us-east-1"
    s3_bucket: str = "connectra-local"
    s3_endpoint_url: str | None = None
    upload_prefix: str = "uploads"
    export_prefix: str = "exports"
    report_prefix: str = "reports"
    upload_max_bytes: int = 10 * GIB
    upload_url_expiry_seconds: int = 3600
    download_url_expiry_seconds: int = 24 * 3600

    # API
    auth_mode: Literal["local", "apigateway"] = "local"
    api_keys: dict[str, str] = Field(default_factory=lambda: {DEV_API_KEY: "dev"})
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 100
    api_base_path: str = ""

    # Ingest and jobs
    chunk_size_bytes: int = 64 * MIB
    ingest_batch_size: int = 5_000
    ingest_max_record_bytes: int = 16 * MIB  # longer records are row errors
    # Well-formed CSV contacts: raw COPY + conversion in SQL (ingest/staged.py); off: the
    # Python parser for every record (same results, kept for comparison and as a switch).
    ingest_sql_path: bool = True
    ingest_state_machine_arn: str | None = None
    export_state_machine_arn: str | None = None
    job_max_retries: int = 3
    job_retry_interval_seconds: int = 30
    job_heartbeat_timeout_seconds: int = 300
    bulk_max_records: int = 5_000

    # Export: rows per keyset page, S3 multipart part size (S3's minimum is 5 MiB), and
    # how a large export splits into parallel parts (by uuid key range).
    export_page_rows: int = 5_000
    export_part_bytes: int = 8 * MIB
    export_rows_per_part: int = 250_000
    export_max_parts: int = 3

    # Jobs sweeper: jobs handled per run and kind, the local loop's period.
    sweeper_batch_size: int = 20
    sweeper_interval_seconds: float = 10.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
