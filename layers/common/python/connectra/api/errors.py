"""Every error leaves the API as JSON `{error, message, details}`, decided here only."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import InterfaceError, OperationalError
from psycopg.errors import QueryCanceled
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectra.errors import ConnectraError, RateLimited
from connectra.observability import logger
from connectra.settings import get_settings

# Names echoed back in errors are cut to this many characters (issue 11 D11: a 10 MB
# field name must not come back twice in a 400).
MAX_ECHOED_NAME = 100


def shorten(name: str, limit: int = MAX_ECHOED_NAME) -> str:
    """`name`, or its first `limit` characters and how many were cut."""
    if len(name) <= limit:
        return name
    return f"{name[:limit]}…(+{len(name) - limit} characters)"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "where", "must", 0, "filter_key")` → `where.must[0].filter_key`."""
    parts: list[str] = []
    for item in loc:
        if item in ("body",) and not parts:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + shorten(str(item)))
    return "".join(parts) or "body"


# The original's messages for the errors it documented (constants/errors_message.go).
ORIGINAL_MESSAGES = {("limit", "less_than_equal"): "page size exceeds maximum limit"}


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        path = _location(error.get("loc", ()))
        kind = error.get("type", "value_error")
        message = ORIGINAL_MESSAGES.get((path, kind), error.get("msg", "invalid"))
        details.append({"path": path, "message": shorten(message, 500), "type": kind})
    return details


def overload_reason(exc: Exception) -> str:
    """Why the database could not answer: the 503's `details.reason`."""
    # Imported on use, as connectra.db.pool does: not part of the API's cold start.
    from psycopg_pool import PoolTimeout, TooManyRequests

    if isinstance(exc, QueryCanceled):
        return "statement_timeout"
    if isinstance(exc, PoolTimeout | TooManyRequests):
        return "database_busy"
    return "database_unavailable"


def unavailable_response(exc: Exception) -> JSONResponse:
    """A saturated, dead or too slow database: a fast 503 the client may retry."""
    retry_after = get_settings().overload_retry_after_seconds
    reason = overload_reason(exc)
    logger.warning("database unavailable", extra={"reason": reason, "error": type(exc).__name__})
    messages = {
        "statement_timeout": "the query ran out of time; narrow it or retry later",
        "database_busy": "the service is busy; retry after a moment",
        "database_unavailable": "the database is unavailable; retry after a moment",
    }
    return JSONResponse(
        error_body(
            "service_unavailable",
            messages[reason],
            {"reason": reason, "retry_after_seconds": retry_after},
        ),
        503,
        headers={"Retry-After": str(retry_after)},
    )


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConnectraError)
    async def _domain_error(_request: Request, exc: ConnectraError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimited) and isinstance(exc.details, dict):
            headers = {key: str(value) for key, value in exc.details.get("headers", {}).items()}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(list(exc.errors()))
        first = details[0] if details else {"path": "body", "message": "invalid request"}
        return JSONResponse(
            error_body("validation_error", f"{first['path']}: {first['message']}", details), 400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        return unavailable_response(exc)

    @app.exception_handler(InterfaceError)
    async def _connection_lost(_request: Request, exc: InterfaceError) -> JSONResponse:
        return unavailable_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        # The server drops the connection after an unhandled error: say so (D12), so a
        # keep-alive client opens a new one instead of meeting a reset.
        return JSONResponse(
            error_body("internal_error", "an unexpected error occurred"),
            500,
            headers={"Connection": "close"},
        )
