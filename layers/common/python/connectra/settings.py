"""All configuration, typed, read once from the environment (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
GIB = 1024 * MIB

DEV_API_KEY = "connectra-dev-key"


def _dev_keys() -> dict[str, str | dict[str, Any]]:
    """The development key: every scope, plan enterprise."""
    return {DEV_API_KEY: "dev"}


class Settings(BaseSettings):
    """One place for every knob; names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: str = "local"

    # PostgreSQL: a URL locally, or a Secrets Manager secret + RDS Proxy host in AWS.
    database_url: str | None = None
    db_secret_arn: str | None = None
    # The migrate function only: the app role's secret, whose password it sets.
    db_app_secret_arn: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "connectra"
    db_sslmode: str = "prefer"
    # Overload degrades into fast 503s (issue 11 item 3): a request waits at most
    # `db_pool_timeout_seconds` for a connection, and no more than `db_pool_max_waiting`
    # requests wait at once; a dead server fails each connect within the connect timeout.
    # API statements stop after `api_statement_timeout_ms`, far below API Gateway's 29 s;
    # workers (imports, exports) keep the longer `db_statement_timeout_ms`.
    db_pool_min_size: int = 0
    db_pool_max_size: int = 8
    db_pool_timeout_seconds: float = 1.0
    db_pool_max_waiting: int = 64
    db_connect_timeout_seconds: float = 3.0
    db_statement_timeout_ms: int = 30_000
    api_statement_timeout_ms: int = 10_000
    overload_retry_after_seconds: int = 2

    # Search
    search_backend: Literal["postgres", "opensearch"] = "postgres"
    opensearch_url: str | None = None
    opensearch_auth: Literal["none", "basic", "sigv4"] = "none"
    opensearch_username: str | None = None
    opensearch_password: str | None = None
    opensearch_index_prefix: str = "connectra"
    opensearch_bulk_max_bytes: int = 8 * MIB
    # Per environment (CDK sets them): primaries of a new index, and replicas of each
    # (0 on a single-node cluster, where a replica can never be allocated).
    opensearch_shards: int = Field(default=1, ge=1)
    opensearch_replicas: int = Field(default=1, ge=0)
    # Counts are exact up to this many matches, then {"count": bound, "relation": "gte"}.
    count_exact_up_to: int = Field(default=1_000, ge=1)
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
    # Local keys: {"key": "consumer"} (all scopes, plan enterprise) or
    # {"key": {"consumer": "alice", "scopes": ["read"], "plan": "free"}} (connectra.consumers).
    api_keys: dict[str, str | dict[str, Any]] = Field(default_factory=_dev_keys)
    # Plans (connectra.consumers.plans): overrides of the plan table, per plan.
    plan_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # When set, one rate-limit level for every plan (tests and benchmarks use these).
    rate_limit_burst: int | None = None  # requests a second
    rate_limit_per_minute: int | None = None
    rate_limit_per_day: int | None = None
    # Wrong or missing keys from one client address, a minute, before it gets 429s.
    auth_failures_per_minute: int = 20
    # How long an API process trusts a key-table lookup (revocations take this long).
    key_cache_ttl_seconds: float = 60.0
    api_base_path: str = ""
    # Larger bodies are a 413 (a Lambda behind API Gateway takes at most 6 MB anyway).
    api_max_body_bytes: int = 6 * MIB
    # Browser clients: allowed origins, comma-separated ("*" = any, as the original).
    cors_allow_origins: str = "*"
    # Responses at least this large are gzipped when the client accepts it; 0 = never
    # (e.g. where API Gateway compresses instead).
    gzip_minimum_bytes: int = 1000
    # Per-container cache of count and aggregation answers (search/result_cache.py): 0 = off.
    result_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    result_cache_max_entries: int = Field(default=1024, ge=0)
    # Requests one API process serves at once; more are shed as 503 + Retry-After at once
    # (uvicorn runs sync routes on 40 threads; DB_POOL_MAX_SIZE of them hold a connection).
    api_max_in_flight: int = 24

    # Ingest and jobs
    chunk_size_bytes: int = 64 * MIB
    ingest_batch_size: int = 5_000
    ingest_max_record_bytes: int = 16 * MIB  # longer records are row errors
    # Well-formed CSV contacts and companies: raw COPY + conversion in SQL (ingest/staged.py);
    # off: the Python parser for every record (same results, kept for comparison and as a
    # switch).
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
