"""One psycopg connection pool per process (per Lambda container), opened lazily.

Overload must degrade, not stall (issue 11 D1, issue 12 item 5). A caller waits at most
`DB_POOL_TIMEOUT_SECONDS` (1 s) for a connection; when that many callers already wait
(`DB_POOL_MAX_WAITING`) it is refused at once. A dead database fails each connection
attempt within `DB_CONNECT_TIMEOUT_SECONDS`. The API turns all three into a 503 with
`Retry-After` (see `connectra.db.unavailable`), well inside API Gateway's 29 s.

Statement timeouts never use a session `SET` (it pins RDS Proxy connections): every
connection gets its process's timeout as a startup option (`options=-c
statement_timeout=…`), which costs no statement. A process serving the API declares
itself with `use_statement_timeout(API_STATEMENT_TIMEOUT_MS)` (the app factory does),
far below API Gateway's 29 s; workers keep `DB_STATEMENT_TIMEOUT_MS`. One block that
needs another limit asks `connection(statement_timeout_ms=…)`: a `SET LOCAL`, which
RDS Proxy keeps for that transaction only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from psycopg import Connection
from psycopg.rows import DictRow, dict_row

from connectra.runtime_secrets import secret_string
from connectra.settings import Settings, get_settings

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

_lock = threading.Lock()
_pool: ConnectionPool[Connection[DictRow]] | None = None
_process_timeout_ms: int | None = None  # this process's statement timeout, if declared


def use_statement_timeout(milliseconds: int) -> None:
    """This process's statement timeout (the API's): connections opened from now on."""
    global _process_timeout_ms
    if milliseconds != _process_timeout_ms:
        _process_timeout_ms = milliseconds
        close_pool()  # connections carry it from their start


def statement_timeout_ms(settings: Settings) -> int:
    return _process_timeout_ms or settings.db_statement_timeout_ms


class DatabaseNotConfigured(RuntimeError):
    """Neither DATABASE_URL nor the RDS secret and host are set."""


def conninfo_from_settings(settings: Settings) -> str:
    """`DATABASE_URL` locally; in AWS the RDS Proxy host and the Secrets Manager secret."""
    if settings.database_url:
        return settings.database_url
    if not (settings.db_secret_arn and settings.db_host):
        raise DatabaseNotConfigured("set DATABASE_URL, or DB_SECRET_ARN and DB_HOST")
    secret = json.loads(secret_string(settings.db_secret_arn, settings.aws_region))
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    return (
        f"postgresql://{user}:{password}@{settings.db_host}:{settings.db_port}/"
        f"{settings.db_name}?sslmode={settings.db_sslmode}"
    )


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    """Per-connection arguments: a bounded connect and the statement timeout as a startup
    option (no statement, no session SET)."""
    return {
        "row_factory": dict_row,
        "connect_timeout": max(1, int(settings.db_connect_timeout_seconds)),
        "options": f"-c statement_timeout={int(statement_timeout_ms(settings))}",
    }


def get_pool() -> ConnectionPool[Connection[DictRow]]:
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                # Imported when the pool opens (psycopg_pool loads ~15 modules): importing
                # this module, as the API's cold start does, opens no pool.
                from psycopg_pool import ConnectionPool

                settings = get_settings()
                _pool = ConnectionPool(
                    conninfo_from_settings(settings),
                    min_size=settings.db_pool_min_size,
                    max_size=settings.db_pool_max_size,
                    kwargs=connection_kwargs(settings),
                    timeout=settings.db_pool_timeout_seconds,
                    max_waiting=settings.db_pool_max_waiting,
                    # A dead database: give up reconnecting quickly, keep trying on demand.
                    reconnect_timeout=settings.db_pool_timeout_seconds * 5,
                    check=ConnectionPool.check_connection,
                    open=True,
                    name="connectra",
                )
    return _pool


@contextmanager
def connection(statement_timeout_ms: int | None = None) -> Iterator[Connection[DictRow]]:
    """A pooled connection inside a transaction: committed on success, rolled back on error.

    `statement_timeout_ms` overrides the process's timeout for this transaction (`SET
    LOCAL`; it opens the transaction, so `conn.transaction()` blocks inside become
    savepoints). Without it, no statement is added.
    """
    with get_pool().connection() as conn:
        if statement_timeout_ms:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                (f"{int(statement_timeout_ms)}ms",),
            )
        yield conn


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None
