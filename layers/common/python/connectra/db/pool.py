"""One psycopg connection pool per process (per Lambda container), opened lazily."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from connectra.runtime_secrets import secret_string
from connectra.settings import Settings, get_settings

_lock = threading.Lock()
_pool: ConnectionPool[Connection[DictRow]] | None = None


def conninfo_from_settings(settings: Settings) -> str:
    """`DATABASE_URL` locally; in AWS the RDS Proxy host and the Secrets Manager secret."""
    if settings.database_url:
        return settings.database_url
    if not (settings.db_secret_arn and settings.db_host):
        raise RuntimeError("set DATABASE_URL, or DB_SECRET_ARN and DB_HOST")
    secret = json.loads(secret_string(settings.db_secret_arn, settings.aws_region))
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    return (
        f"postgresql://{user}:{password}@{settings.db_host}:{settings.db_port}/"
        f"{settings.db_name}?sslmode={settings.db_sslmode}"
    )


def _configure(conn: Connection[DictRow]) -> None:
    timeout = get_settings().db_statement_timeout_ms
    conn.execute(f"SET statement_timeout = {int(timeout)}")
    conn.commit()


def get_pool() -> ConnectionPool[Connection[DictRow]]:
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                settings = get_settings()
                _pool = ConnectionPool(
                    conninfo_from_settings(settings),
                    min_size=settings.db_pool_min_size,
                    max_size=settings.db_pool_max_size,
                    kwargs={"row_factory": dict_row},
                    configure=_configure,
                    check=ConnectionPool.check_connection,
                    open=True,
                    name="connectra",
                )
    return _pool


@contextmanager
def connection() -> Iterator[Connection[DictRow]]:
    """A pooled connection inside a transaction: committed on success, rolled back on error."""
    with get_pool().connection() as conn:
        yield conn


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None
